//! keeper's first-party LastPass importer: a LastPass CSV export streamed by
//! the host, or the online account over the LastPass protocol.
//!
//! Built into keeper; to build it alone:
//! `cargo build --target wasm32-wasip2 --profile plugin -p keeper-plugin-lastpass`.
//!
//! # Options
//!
//! | option | meaning |
//! |---|---|
//! | `mode` | `csv` (read the streamed export) or `online`; default `online` when `source` looks like an e-mail address (has `@`, no `/` or `\`), else `csv` |
//! | `source` | the file path (csv) or the account e-mail (online) |
//! | `password` | the master password (online; the host prompts for it) |
//! | `otp` | a one-time code for multi-factor login (online) |
//! | `lastpass-server` | the server's base URL (online), default `https://lastpass.com` |
//! | `record-type` | the record type of plain (non-note) entries, default `login` |
//! | `membership` | `true` (online): yield only the shared folders with their members, no records (for `download-membership --source lastpass`) |
//!
//! # Mapping
//!
//! Entries with url `http://group` are folder placeholders: skipped (a
//! Skipped item). Other entries become records titled by `name` (`Missing
//! Title N` when blank):
//!
//! * a login: `login`, `password`, `url` typed fields (only when non-empty),
//!   `extra` as notes, the TOTP as a `oneTimeCode` field (a bare secret is
//!   wrapped as `otpauth://totp/?secret=...`);
//! * a secure note (url `http://sn`) whose text starts with `NoteType:` is
//!   parsed ([`notes`]) and mapped by type:
//!
//! | LastPass note type | record type | fields |
//! |---|---|---|
//! | Bank Account | `bankAccount` | `bankAccount` {accountType, routingNumber, accountNumber}, `pinCode` |
//! | Credit Card | `bankCard` | `paymentCard` {cardNumber, cardExpirationDate `MM/YYYY`, cardSecurityCode}, `text:cardholderName` |
//! | Address | `address` | `address`, `name`, `birthDate`, `email`, `phone` (labelled Phone / Evening Phone / Mobile Phone / Fax) |
//! | Driver's License | `driverLicense` | `accountNumber:dlNumber`, `expirationDate`, `birthDate`, `name`, `address` |
//! | Passport | `passport` | `accountNumber:passportNumber`, `name`, `birthDate`, `expirationDate`, `date:dateIssued` |
//! | Social Security | `ssnCard` | `accountNumber:identityNumber`, `name` |
//! | Health Insurance, Insurance | `healthInsurance` | `accountNumber` (policy number or member id), `name`, `expirationDate` |
//! | Membership | `membership` | `accountNumber`, `name`, `date:Start Date`, `expirationDate`, `url` |
//! | Email Account, Instant Messenger | `login` | `login`, `password` |
//! | Database | `databaseCredentials` | `text:type`, `host` {hostName, port} from Hostname and Port, `login`, `password` |
//! | Server | `serverCredentials` | `host` (Hostname, `host:port` split), `login`, `password` |
//! | SSH Key | `sshKeys` | `keyPair` {publicKey, privateKey}, `password` (the passphrase), `host` |
//! | Software License | `softwareLicense` | `licenseNumber`, `date:dateActive` |
//! | Wi-Fi Password | `wifiCredentials` | `text:SSID`, `password` |
//!
//! In every type `Username`, `Password` and `URL` keys fill the `login`,
//! `password` and `url` fields (custom fields if already set), `Notes`
//! becomes the notes, dates (`Month,Day,Year`) become epoch milliseconds
//! (kept as text when they do not parse), and every other non-empty key a
//! custom `text` field. Unknown note types and notes without `NoteType`
//! become `encryptedNotes` records with the text in a `note` field.
//! Online form fields (`ACFL`) become custom fields (`password` → `secret`,
//! `email`, `textarea` → `multiline`, `tel` → `phone`, others `text`).
//!
//! Folders: `grouping` (CSV) or the group (online) is a `\` separated path;
//! `(none)` or empty is no folder. In a CSV a first component starting with
//! `Shared-` is a LastPass shared folder; online, the `SHAR` chunk names it.
//! Each shared folder is yielded once, as an [`ImportItem::SharedFolder`]
//! with default rights, before its first record; its records are located in
//! it with the rest of the group as sub-folder.
//!
//! # Errors and skipped entries
//!
//! Bad rows do not stop an import: a CSV row with a different number of
//! cells than the header, or a cell that is not UTF-8, is an
//! [`ImportItem::Skipped`] `line N: reason`; an online account, shared
//! folder or custom field that does not decrypt is a Skipped item naming
//! it, as is every attachment that is not imported (see below). The
//! import fails with [`PluginError::MalformedInput`] when the CSV header is
//! not LastPass's, a row exceeds 8 MiB (an unclosed quote), or the blob's
//! framing is broken or truncated (checked before anything is yielded).
//!
//! CSV cells are always HTML-unescaped (`&amp;` `&lt;` `&gt;` `&quot;`
//! `&#39;`): LastPass's browser extension escapes them in its exports. A
//! value that really contains `&amp;` is therefore imported as `&`.
//!
//! # The online protocol (what the client sends)
//!
//! `SERVER` is `lastpass-server` (default `https://lastpass.com`), the
//! e-mail is lower-cased. Form bodies are
//! `application/x-www-form-urlencoded`.
//!
//! 1. `POST SERVER/iterations.php`, body `email=<e-mail>` → the iteration
//!    count as ASCII (unreadable or ≤ 0: 100100).
//! 2. key = PBKDF2-HMAC-SHA256(password, salt = e-mail, iterations, 32)
//!    (one iteration: SHA-256(e-mail ‖ password)); hash =
//!    hex(PBKDF2-HMAC-SHA256(key, salt = password, 1, 32)) (one iteration:
//!    SHA-256(hex(key) ‖ password)). See [`kdf`].
//! 3. `POST SERVER/login.php`, body
//!    `method=cli&xml=2&username=<e-mail>&hash=<hash>&iterations=<n>&includeprivatekeyenc=1[&otp=<code>]`
//!    → `<ok sessionid=".." privatekeyenc="..">` or
//!    `<response><error cause=".." message=".." [iterations=".."]/></response>`;
//!    with `iterations` the login is retried once with that count.
//! 4. `GET SERVER/getaccts.php?mobile=1&b64=1&hash=0.0&hasplugin=3.0.23&requestsrc=cli`
//!    with header `cookie: PHPSESSID=<sessionid>` → the base64 blob
//!    ([`blob`]).
//! 5. With `membership`, for each shared folder:
//!    `GET SERVER/getSharedFolderMembers.php?shareid=<id>` with the cookie →
//!    `{"users":[{"username","readonly","can_administer"}],"groups":[{"name",..}]}`
//!    or `{"error":"not_allowed"}` (then the folder is a Skipped item).
//!    Users become members (manage records = `readonly` "0", manage users =
//!    `can_administer` "1"), groups become team members.
//! 6. For each attachment (`ATTA`) of an imported account, unless the
//!    option `dry-run` is `true`: `POST SERVER/getattach.php`, body
//!    `getattach=<storage key>[&sharedfolderid=<share id>]`, with the
//!    cookie and the header `x-keeper-cache-key: <storage key>` (keeper's
//!    `--file-cache` keeps the answer) → the file, encrypted with the
//!    account's attachment key in LastPass's text form, whose plaintext
//!    is the file in base64 (see [`client::decrypt_attachment`]). A
//!    download that fails or does not decrypt is retried once with
//!    `cache-control: no-cache`, then reported as a Skipped item; so is
//!    one over 64 MiB. A batch ends early after 16 downloads or 32 MiB.
//! 7. `GET SERVER/logout.php?mobile=1&noredirect=1` with the same cookie
//!    (best effort, the answer is ignored), after the last batch.
//!
//! [`testkit`] builds a matching blob and the server-side values for tests.
//!
//! # Memory and batches
//!
//! The CSV is read row by row. Online, the blob is one response, held while
//! its chunks are decrypted one at a time across batches (so RSA share-key
//! decryption is spread over calls), and attachments are downloaded one at
//! a time, a batch ending early after [`BATCH_DOWNLOADS`] downloads or
//! [`BATCH_ATTACHMENT_BYTES`]; the manifest asks for 384 MiB and 120 s per
//! call for that. A batch holds at most [`BATCH_ITEMS`] items.

pub mod account;
pub mod blob;
pub mod cipher;
pub mod client;
pub mod csv_export;
pub mod kdf;
pub mod notes;
pub mod testkit;

use std::io::Read;

use keeper_plugin_sdk::input::Input;
use keeper_plugin_sdk::{
    Attachment, ImportItem, Importer, ImporterInfo, Options, Permission, PluginError, SharedFolder,
};

use crate::account::{Account, AttachmentRef};
use crate::blob::{BlobParser, Event};
use crate::csv_export::{CsvExport, Row};

/// The most items per batch.
pub const BATCH_ITEMS: usize = 500;

/// The server used when `lastpass-server` is not given.
pub const DEFAULT_SERVER: &str = "https://lastpass.com";

/// The plugin.
pub struct LastPass(Session);

/// What the plugin's session is doing.
enum Session {
    /// Reading the streamed CSV export.
    Csv(LastPassImport<Input>),
    /// Online, not logged in yet (done by the first batch).
    Login(Box<OnlineLogin>),
    /// Online, reading the blob.
    Blob(LastPassImport<Input>),
    /// Online, listing shared folders' members (`membership`).
    Members(Box<Members>),
}

/// The `membership` run: the session stays open for the member lists.
struct Members {
    session: Option<client::Session>,
    parser: BlobParser,
}

impl Members {
    fn next_batch(&mut self) -> Result<Option<Vec<ImportItem>>, PluginError> {
        let Some(session) = &self.session else {
            return Ok(None);
        };
        let mut batch = Vec::new();
        while batch.len() < BATCH_ITEMS {
            match self.parser.next_event()? {
                Some(Event::SharedFolder { id, name }) => match session.members(&id) {
                    Ok(members) => batch.push(ImportItem::SharedFolder(members.into_iter().fold(
                        SharedFolder::new(name),
                        |sf, m| {
                            let p = if m.group {
                                Permission::team(m.name)
                            } else {
                                Permission::user(m.name)
                            };
                            sf.permission(Permission {
                                manage_users: m.manage_users,
                                manage_records: m.manage_records,
                                ..p
                            })
                        },
                    ))),
                    Err(e) => batch.push(ImportItem::Skipped(format!(
                        "LastPass shared folder {name}: members not listed: {e}"
                    ))),
                },
                Some(Event::Skipped(why)) => batch.push(ImportItem::Skipped(why)),
                Some(Event::Account(_)) => {}
                None => {
                    if let Some(session) = self.session.take() {
                        session.logout();
                    }
                    break;
                }
            }
        }
        Ok((!batch.is_empty() || self.session.is_some()).then_some(batch))
    }
}

/// The online credentials, until the first batch uses them.
struct OnlineLogin {
    server: String,
    username: String,
    password: String,
    otp: Option<String>,
    default_type: String,
    membership: bool,
    /// `dry-run`: attachments are not downloaded (as in Commander).
    dry_run: bool,
}

impl Importer for LastPass {
    fn describe() -> ImporterInfo {
        ImporterInfo::new(
            "lastpass",
            "LastPass vaults: a CSV export, or the online account",
        )
        .reads_input(true)
    }

    fn new(options: Options) -> Result<Self, PluginError> {
        let default_type = default_type(&options);
        let source = options.get("source").unwrap_or("").trim();
        let online = match options.get("mode").map(str::trim) {
            Some("online") => true,
            Some("csv") => false,
            Some(other) => {
                return Err(PluginError::InvalidConfig(format!(
                    "mode must be csv or online, not {other:?}"
                )));
            }
            None => looks_like_email(source),
        };
        if !online {
            return Ok(Self(Session::Csv(LastPassImport::csv(
                Input::new(),
                &options,
            ))));
        }
        if source.is_empty() {
            return Err(PluginError::InvalidConfig(
                "the LastPass account e-mail (source) is required".into(),
            ));
        }
        let password = options
            .get("password")
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                PluginError::InvalidConfig("the LastPass master password is required".into())
            })?;
        Ok(Self(Session::Login(Box::new(OnlineLogin {
            server: options
                .get("lastpass-server")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or(DEFAULT_SERVER)
                .to_owned(),
            username: source.to_owned(),
            password: password.to_owned(),
            otp: options.get("otp").map(str::to_owned),
            default_type,
            membership: options.get("membership").map(str::trim) == Some("true"),
            dry_run: options.get("dry-run").map(str::trim) == Some("true"),
        }))))
    }

    fn next_batch(&mut self) -> Result<Option<Vec<ImportItem>>, PluginError> {
        if let Session::Login(login) = &self.0 {
            let session = client::login(
                &login.server,
                &login.username,
                &login.password,
                login.otp.as_deref(),
            )?;
            let blob = session.blob()?;
            self.0 = if login.membership {
                let parser =
                    BlobParser::new(blob, *session.key, session.private_key_enc.as_deref())?;
                Session::Members(Box::new(Members {
                    session: Some(session),
                    parser,
                }))
            } else {
                let mut import = LastPassImport::blob(
                    blob,
                    *session.key,
                    session.private_key_enc.as_deref(),
                    &login.default_type,
                )?;
                if login.dry_run {
                    session.logout();
                } else {
                    // Kept for the attachment downloads; logged out at the end.
                    import.downloader = Some(session);
                }
                Session::Blob(import)
            };
        }
        match &mut self.0 {
            Session::Csv(import) | Session::Blob(import) => import.next_batch(),
            Session::Members(members) => members.next_batch(),
            Session::Login(_) => Err(PluginError::Internal("login did not complete".into())),
        }
    }
}

keeper_plugin_sdk::register_importer!(LastPass);

fn default_type(options: &Options) -> String {
    options
        .get("record-type")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("login")
        .to_owned()
}

/// True for `user@domain` without path separators.
fn looks_like_email(source: &str) -> bool {
    source.contains('@') && !source.contains(['/', '\\']) && !source.contains(char::is_whitespace)
}

/// Where entries come from.
enum Source<R: Read> {
    Csv(Box<CsvExport<R>>),
    Blob(Box<BlobParser>),
}

/// A LastPass import over a CSV export or a decrypted blob; the plugin runs
/// it over the host's input or the downloaded blob, tests and fuzzers over
/// bytes in memory.
///
/// ```
/// use keeper_plugin_lastpass::LastPassImport;
/// use keeper_plugin_sdk::{ImportItem, Options};
///
/// let csv = "url,username,password,extra,name,grouping,fav\nhttps://a.example,me,pw,,A,,0\n";
/// let mut import = LastPassImport::csv(csv.as_bytes(), &Options::default());
/// let batch = import.next_batch().ok().flatten().unwrap_or_default();
/// assert!(matches!(&batch[..], [ImportItem::Record(r)] if r.title == "A"));
/// ```
pub struct LastPassImport<R: Read> {
    source: Source<R>,
    default_type: String,
    shares_seen: Vec<String>,
    untitled: u64,
    done: bool,
    /// The online session attachments are downloaded with (none: CSV, or a
    /// dry run).
    downloader: Option<client::Session>,
    /// Downloads and downloaded bytes in the current batch.
    downloads: usize,
    download_bytes: usize,
    /// An entry held back for the next batch (its attachments would not
    /// fit in this one), with its context.
    carry: Option<(Event, String)>,
}

/// A batch ends early after this many attachment downloads...
pub const BATCH_DOWNLOADS: usize = 16;
/// ... or this many bytes of attachments.
pub const BATCH_ATTACHMENT_BYTES: usize = 32 * 1024 * 1024;
/// The most downloads in one batch (one call): the host allows 64 HTTP
/// requests per call, and the first batch also logs in.
pub const MAX_CALL_DOWNLOADS: usize = 56;
/// The most attachment bytes in one batch: the host refuses batches over
/// 64 MiB, and the records need room too. An entry whose attachments
/// would pass it starts the next batch; attachments of one entry beyond it
/// are reported, not imported.
pub const MAX_BATCH_ATTACHMENT_BYTES: usize = 48 * 1024 * 1024;

/// About the size of a downloaded attachment once decrypted and decoded:
/// LastPass's body is base64 of the ciphertext of the file in base64.
fn decoded_size(a: &AttachmentRef) -> usize {
    usize::try_from(a.size).unwrap_or(usize::MAX) / 16 * 9
}

impl<R: Read> LastPassImport<R> {
    /// Reads a CSV export. Options read: `record-type`.
    pub fn csv(source: R, options: &Options) -> Self {
        Self::with(
            Source::Csv(Box::new(CsvExport::new(source))),
            default_type(options),
        )
    }

    fn with(source: Source<R>, default_type: String) -> Self {
        Self {
            source,
            default_type,
            shares_seen: Vec::new(),
            untitled: 0,
            done: false,
            downloader: None,
            downloads: 0,
            download_bytes: 0,
            carry: None,
        }
    }

    /// The next batch, `None` when done. Fails as described in the crate docs.
    pub fn next_batch(&mut self) -> Result<Option<Vec<ImportItem>>, PluginError> {
        if self.done {
            return Ok(None);
        }
        self.downloads = 0;
        self.download_bytes = 0;
        let mut batch = Vec::new();
        while batch.len() < BATCH_ITEMS
            && self.downloads < BATCH_DOWNLOADS
            && self.download_bytes < BATCH_ATTACHMENT_BYTES
        {
            let carried = self.carry.take();
            let next = match carried {
                Some(carried) => Some(carried),
                None => self.read_event()?,
            };
            let Some((event, context)) = next else {
                self.done = true;
                break;
            };
            if let Event::Account(a) = &event {
                let size: usize = a.attachments.iter().map(decoded_size).sum();
                if self.download_bytes > 0
                    && self.download_bytes.saturating_add(size) > BATCH_ATTACHMENT_BYTES
                    && self.downloader.is_some()
                {
                    self.carry = Some((event, context));
                    break;
                }
            }
            match event {
                Event::SharedFolder { name, .. } => self.shared_folder(&name, &mut batch),
                Event::Account(account) => self.account(&account, &context, &mut batch),
                Event::Skipped(why) => batch.push(ImportItem::Skipped(why)),
            }
        }
        if self.done {
            self.log_out();
        }
        if batch.is_empty() && self.done {
            return Ok(None);
        }
        Ok(Some(batch))
    }

    /// Ends the online session, if any (best effort).
    fn log_out(&mut self) {
        if let Some(session) = self.downloader.take() {
            session.logout();
        }
    }

    /// The next entry of the source with its context, `None` at the end.
    fn read_event(&mut self) -> Result<Option<(Event, String)>, PluginError> {
        let read = match &mut self.source {
            Source::Csv(csv) => csv.next_row().map(|row| {
                row.map(|row| match row {
                    Row::Account(line, account) => {
                        (Event::Account(account), format!("line {line}"))
                    }
                    Row::Skipped(why) => (Event::Skipped(why), String::new()),
                })
            }),
            Source::Blob(parser) => parser.next_event().map(|event| {
                event.map(|event| {
                    let context = match &event {
                        Event::Account(a) => format!("LastPass account {}", a.id),
                        _ => String::new(),
                    };
                    (event, context)
                })
            }),
        };
        if read.is_err() {
            self.done = true;
            self.log_out();
        }
        read
    }

    /// Downloads one attachment of an online account, retrying once past
    /// the host's file cache when the answer does not decrypt (a damaged
    /// cached copy).
    fn download(&mut self, a: &AttachmentRef) -> Result<Vec<u8>, String> {
        let Some(session) = &self.downloader else {
            return Err("not downloaded (a dry run, or no online session)".to_owned());
        };
        if a.size > client::MAX_ATTACHMENT_DOWNLOAD as u64 {
            return Err(format!(
                "too large ({} bytes; the most is {} bytes); download it from LastPass",
                a.size,
                client::MAX_ATTACHMENT_DOWNLOAD
            ));
        }
        if self.download_bytes > 0
            && self.download_bytes.saturating_add(decoded_size(a)) > MAX_BATCH_ATTACHMENT_BYTES
        {
            return Err(format!(
                "its entry's attachments together are larger than one batch may carry \
                 ({} MiB); download it from LastPass",
                MAX_BATCH_ATTACHMENT_BYTES >> 20
            ));
        }
        let mut last = String::new();
        for refresh in [false, true] {
            if self.downloads >= MAX_CALL_DOWNLOADS {
                return Err(format!(
                    "its entry has more attachments than one batch may download \
                     ({MAX_CALL_DOWNLOADS}); download it from LastPass"
                ));
            }
            self.downloads += 1;
            match session.attachment(a, refresh) {
                Ok(data) => {
                    self.download_bytes += data.len();
                    return Ok(data);
                }
                Err(client::AttachmentError { why, undecryptable }) => {
                    last = why;
                    if !undecryptable {
                        break;
                    }
                }
            }
        }
        Err(last)
    }

    fn shared_folder(&mut self, name: &str, batch: &mut Vec<ImportItem>) {
        if !name.is_empty() && !self.shares_seen.iter().any(|s| s == name) {
            self.shares_seen.push(name.to_owned());
            batch.push(ImportItem::SharedFolder(SharedFolder::new(name)));
        }
    }

    fn account(&mut self, account: &Account, context: &str, batch: &mut Vec<ImportItem>) {
        if account.is_group() {
            batch.push(ImportItem::Skipped(format!(
                "{context}: {:?} is a LastPass folder placeholder (http://group)",
                account.name
            )));
            return;
        }
        if let Some(share) = &account.shared_folder {
            self.shared_folder(share, batch);
        }
        if account.name.trim().is_empty() {
            self.untitled += 1;
        }
        let mut record = account.to_record(&self.default_type, self.untitled);
        for a in &account.attachments {
            match self.download(a) {
                Ok(data) => record.attachments.push(Attachment {
                    name: a.name.clone(),
                    mime: Some(a.mime.clone()).filter(|m| !m.is_empty()),
                    data,
                }),
                // Every attachment left out is reported (Commander #2208).
                Err(why) => batch.push(ImportItem::Skipped(format!(
                    "{context}: attachment {:?} of {:?}: {why}; not imported",
                    a.name, account.name
                ))),
            }
        }
        batch.push(ImportItem::Record(record));
    }
}

impl LastPassImport<Input> {
    /// Reads a downloaded, base64-decoded blob with the vault `key`.
    /// `private_key_enc` is the login reply's `privatekeyenc`.
    ///
    /// Fails with [`PluginError::MalformedInput`] when the blob's framing is
    /// broken or truncated.
    pub fn blob(
        blob: Vec<u8>,
        key: [u8; 32],
        private_key_enc: Option<&str>,
        default_type: &str,
    ) -> Result<Self, PluginError> {
        Self::from_blob(blob, key, private_key_enc, default_type)
    }
}

impl<R: Read> LastPassImport<R> {
    /// [`LastPassImport::blob`] for any reader type (the reader is unused).
    pub fn from_blob(
        blob: Vec<u8>,
        key: [u8; 32],
        private_key_enc: Option<&str>,
        default_type: &str,
    ) -> Result<Self, PluginError> {
        let parser = BlobParser::new(blob, key, private_key_enc)?;
        Ok(Self::with(
            Source::Blob(Box::new(parser)),
            default_type.to_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_lastpass() {
        let info = LastPass::describe();
        assert_eq!(info.name, "lastpass");
        assert!(info.reads_input);
    }

    #[test]
    fn online_mode_needs_a_password() {
        let opts = Options::from(vec![("source".to_owned(), "me@example.com".to_owned())]);
        assert!(matches!(
            LastPass::new(opts),
            Err(PluginError::InvalidConfig(_))
        ));
        let opts = Options::from(vec![("mode".to_owned(), "ftp".to_owned())]);
        assert!(matches!(
            LastPass::new(opts),
            Err(PluginError::InvalidConfig(_))
        ));
        assert!(looks_like_email("me@example.com"));
        assert!(!looks_like_email("/home/me/export@2024.csv"));
    }
}
