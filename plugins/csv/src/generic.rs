//! Generic CSVs: a header row names the columns, and rows are mapped by
//! those names (case-insensitive, with common synonyms).

use keeper_plugin_sdk::ImportItem;

use crate::fields::{Key, parse_key};
use crate::rows::RecordBuilder;

/// What a column holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// The record title.
    Title,
    /// The login (user name).
    Login,
    /// The password.
    Password,
    /// The website address.
    Url,
    /// Notes.
    Notes,
    /// The personal folder (or sub-folder inside the shared folder).
    Folder,
    /// The shared folder, optionally with `#edit` / `#reshare`.
    SharedFolder,
    /// A one-time code (otpauth URI or base32 secret).
    OneTimeCode,
    /// The record type.
    RecordType,
    /// The source uid.
    Uid,
    /// Anything else: a key/value pair with the header as key (a `$type`
    /// header makes a typed field, other headers custom text fields).
    Other(String),
}

/// Recognises a header cell (see the crate docs for the synonyms).
pub fn classify(header: &str) -> Column {
    let norm: String = header
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect();
    match norm.as_str() {
        "title" | "name" | "account" | "accountname" | "item" | "itemname" | "entry"
        | "recordtitle" => Column::Title,
        "login" | "username" | "user" | "loginname" | "userid" | "email" | "emailaddress"
        | "loginusername" => Column::Login,
        "password" | "pass" | "passwd" | "pwd" | "loginpassword" => Column::Password,
        "url" | "uri" | "website" | "websiteaddress" | "webaddress" | "site" | "loginurl"
        | "loginuri" | "link" => Column::Url,
        "notes" | "note" | "comment" | "comments" | "extra" | "description" => Column::Notes,
        "folder" | "folderpath" | "group" | "grouping" | "category" | "path" => Column::Folder,
        "sharedfolder" | "sharedfolderpath" => Column::SharedFolder,
        "totp" | "otp" | "onetimecode" | "otpauth" | "2fa" | "mfa" | "logintotp" => {
            Column::OneTimeCode
        }
        "type" | "recordtype" | "$type" => Column::RecordType,
        "uid" | "recorduid" | "$recorduid" => Column::Uid,
        _ => Column::Other(header.trim().to_owned()),
    }
}

/// The columns of a generic CSV, from its header row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    columns: Vec<Column>,
}

/// Column roles that count as evidence of a header row.
const CORE: [Column; 4] = [Column::Title, Column::Login, Column::Password, Column::Url];

impl Header {
    /// The header if `cells` look like one: at least two different known
    /// column names, one of them title, login, password or url, and known
    /// names make up at least half of the non-empty cells.
    pub fn detect(cells: &[String]) -> Option<Self> {
        let columns: Vec<Column> = cells.iter().map(|c| classify(c)).collect();
        let mut distinct: Vec<&Column> = Vec::new();
        let mut known_cells = 0;
        for column in columns.iter().filter(|c| !matches!(c, Column::Other(_))) {
            known_cells += 1;
            if !distinct.contains(&column) {
                distinct.push(column);
            }
        }
        let non_empty = cells.iter().filter(|c| !c.trim().is_empty()).count();
        let has_core = distinct.iter().any(|c| CORE.contains(c));
        (distinct.len() >= 2 && has_core && known_cells * 2 >= non_empty)
            .then_some(Self { columns })
    }

    /// True when the header names Keeper's own seven positional columns
    /// in order (folder, title, login, password, url, notes, shared
    /// folder), so the rows are Keeper-layout rows with key/value pairs.
    pub fn is_keeper_layout(&self) -> bool {
        let keeper = [
            Column::Folder,
            Column::Title,
            Column::Login,
            Column::Password,
            Column::Url,
            Column::Notes,
        ];
        self.columns.len() >= keeper.len()
            && self.columns.iter().zip(keeper.iter()).all(|(a, b)| a == b)
            && self
                .columns
                .get(6)
                .is_none_or(|c| *c == Column::SharedFolder)
    }

    /// Maps one row by the header. A column only counts the first time its
    /// role appears; later columns of the same role become custom fields.
    /// Returns `None` for a row whose cells are all blank. A row without a
    /// title takes its url's or login's text as title.
    pub fn map_row(&self, cells: &[String], line: u64, default_type: &str) -> Option<ImportItem> {
        if cells.iter().all(|c| c.trim().is_empty()) {
            return None;
        }
        let mut b = RecordBuilder::new(default_type);
        let mut seen: Vec<&Column> = Vec::new();
        let (mut url, mut login) = (String::new(), String::new());
        for (i, cell) in cells.iter().enumerate() {
            let column = self
                .columns
                .get(i)
                .cloned()
                .unwrap_or_else(|| Column::Other(format!("column {}", i + 1)));
            let header = self.columns.get(i);
            let first = header.is_some_and(|c| !seen.contains(&c));
            if let Some(c) = header {
                seen.push(c);
            }
            let column = if first || matches!(column, Column::Other(_)) {
                column
            } else {
                Column::Other(label_of(&column))
            };
            match column {
                Column::Title => b.title = cell.trim().to_owned(),
                Column::Login => {
                    login = cell.trim().to_owned();
                    b.text_field("login", cell);
                }
                Column::Password => b.text_field("password", cell),
                Column::Url => {
                    url = cell.trim().to_owned();
                    b.text_field("url", cell);
                }
                Column::Notes => b.notes(cell),
                Column::Folder => b.folder = cell.trim().to_owned(),
                Column::SharedFolder => b.shared_folder = cell.trim().to_owned(),
                Column::OneTimeCode => b.one_time_code("totp", cell),
                Column::RecordType => b.record_type(cell),
                Column::Uid => b.uid(cell),
                Column::Other(label) => match parse_key(&label) {
                    Key::Custom(label) => b.custom(&label, cell),
                    _ => b.pair(&label, cell),
                },
            }
        }
        if b.title.is_empty() {
            b.title = if url.is_empty() { login } else { url };
        }
        Some(b.finish(line))
    }
}

/// The label a repeated known column gets as a custom field.
fn label_of(column: &Column) -> String {
    match column {
        Column::Title => "title",
        Column::Login => "login",
        Column::Password => "password",
        Column::Url => "url",
        Column::Notes => "notes",
        Column::Folder => "folder",
        Column::SharedFolder => "shared folder",
        Column::OneTimeCode => "totp",
        Column::RecordType => "type",
        Column::Uid => "uid",
        Column::Other(label) => label,
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(row: &[&str]) -> Vec<String> {
        row.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn headers_are_recognised() {
        assert!(Header::detect(&cells(&["name", "url", "username", "password", "note"])).is_some());
        assert!(Header::detect(&cells(&["Title", "Website Address"])).is_some());
        // A data row of Keeper's layout is not a header.
        assert!(
            Header::detect(&cells(&[
                "Work",
                "GitHub",
                "octocat",
                "pw",
                "https://github.com",
                ""
            ]))
            .is_none()
        );
        // Only notes and folder: no core column.
        assert!(Header::detect(&cells(&["notes", "folder"])).is_none());
    }

    #[test]
    fn keeper_header_is_recognised() {
        let h = Header::detect(&cells(&[
            "Folder",
            "Title",
            "Login",
            "Password",
            "Website Address",
            "Notes",
            "Shared Folder",
            "Custom Fields",
        ]));
        assert!(h.is_some_and(|h| h.is_keeper_layout()));
        let generic = Header::detect(&cells(&["title", "login", "password"]));
        assert!(generic.is_some_and(|h| !h.is_keeper_layout()));
    }
}
