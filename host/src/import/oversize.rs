//! Records too large to store: an imported record whose data (title, notes,
//! fields; attachments excluded) is over [`MAX_RECORD_DATA`] has its notes
//! and fields moved into attachments, largest first, until it fits.
//!
//! Each moved field becomes a text attachment named
//! `<record title>_<field type>_field.txt` (`<record title>_notes_field.txt`
//! for the notes; a second field of the same type gets `_2`, …) holding the
//! field's text (several values one per line, structured values as JSON).
//! A text field keeps a pointer, `This field is stored as attachment
//! "<name>" to avoid the 5 MB record limit`; a structured one is emptied.
//! Commander does the same above its 2 MB limit (reference §2.4 step 6).

use serde_json::Value;

use crate::vault::{Field, NewAttachment, RecordData, Result, VaultError};

/// The most record data kept in the record itself: 5 MB (5 × 1024 × 1024
/// bytes of JSON: title, notes, fields and custom fields).
pub const MAX_RECORD_DATA: usize = 5 * 1024 * 1024;

/// Counts bytes written.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn json_len<T: serde::Serialize + ?Sized>(v: &T) -> usize {
    let mut c = Counter(0);
    // Serialising plain data into a counter cannot fail.
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

/// The size that counts against the limit.
pub fn data_size(d: &RecordData) -> usize {
    d.title.len() + json_len(&d.notes) + json_len(&d.fields) + json_len(&d.custom)
}

/// Which part of the record a candidate is.
#[derive(Clone, Copy)]
enum Part {
    Notes,
    Field(usize),
    Custom(usize),
}

fn field_text(f: &Field) -> String {
    f.value
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Moves fields of an oversized record into attachments (largest first)
/// until it fits; returns how many were moved (0 for a record that fits).
///
/// # Errors
///
/// [`VaultError::Invalid`] when the record is still too large with every
/// field moved (a title over the limit).
pub fn fit(d: &mut RecordData, files: &mut Vec<NewAttachment>) -> Result<usize> {
    let mut size = data_size(d);
    if size <= MAX_RECORD_DATA {
        return Ok(0);
    }
    let mut parts: Vec<(usize, Part)> = vec![(json_len(&d.notes), Part::Notes)];
    parts.extend(
        d.fields
            .iter()
            .enumerate()
            .map(|(i, f)| (json_len(f), Part::Field(i))),
    );
    parts.extend(
        d.custom
            .iter()
            .enumerate()
            .map(|(i, f)| (json_len(f), Part::Custom(i))),
    );
    parts.sort_by_key(|p| std::cmp::Reverse(p.0));
    let title: String = d
        .title
        .chars()
        .map(|c| if matches!(c, '/' | '\\') { '_' } else { c })
        .collect();
    let mut moved = 0;
    for (_, part) in parts {
        if size <= MAX_RECORD_DATA {
            break;
        }
        let kind = match part {
            Part::Notes => "notes".to_string(),
            Part::Field(i) => d.fields[i].kind.clone(),
            Part::Custom(i) => d.custom[i].kind.clone(),
        };
        let mut name = format!("{title}_{kind}_field.txt");
        let mut n = 2;
        while files.iter().any(|f| f.name == name) {
            name = format!("{title}_{kind}_{n}_field.txt");
            n += 1;
        }
        let pointer =
            format!("This field is stored as attachment \"{name}\" to avoid the 5 MB record limit");
        let text = match part {
            Part::Notes => std::mem::replace(&mut *d.notes, pointer),
            Part::Field(i) | Part::Custom(i) => {
                let f = match part {
                    Part::Field(_) => &mut d.fields[i],
                    _ => &mut d.custom[i],
                };
                let text = field_text(f);
                let textual = f.value.iter().all(Value::is_string);
                f.value = zeroize::Zeroizing::new(if textual {
                    vec![Value::String(pointer)].into()
                } else {
                    Default::default()
                });
                text
            }
        };
        files.push(NewAttachment {
            name,
            mime: "text/plain".into(),
            data: zeroize::Zeroizing::new(text.into_bytes()),
        });
        moved += 1;
        size = data_size(d);
    }
    if size > MAX_RECORD_DATA {
        return Err(VaultError::Invalid(format!(
            "record {:?} is larger than 5 MB even with its fields moved into attachments",
            d.title.chars().take(60).collect::<String>()
        )));
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_fields_move_first_until_the_record_fits() {
        let mut d = RecordData::new("login", "Big");
        d.notes = "n".repeat(3 * 1024 * 1024).into();
        d.set_field(false, "login", None, vec!["me".into()], 0);
        d.set_field(
            true,
            "text",
            Some("a"),
            vec!["a".repeat(4 * 1024 * 1024).into()],
            0,
        );
        d.set_field(
            true,
            "text",
            Some("b"),
            vec!["b".repeat(2 * 1024 * 1024).into()],
            0,
        );
        let mut files = Vec::new();
        let moved = fit(&mut d, &mut files).expect("fits");
        // 9 MB: moving the 4 MB field leaves 5 MB + JSON overhead, so the
        // 3 MB notes go too; the 2 MB field stays.
        assert_eq!(moved, 2);
        assert_eq!(files[0].name, "Big_text_field.txt");
        assert_eq!(files[0].data.len(), 4 * 1024 * 1024);
        assert_eq!(files[1].name, "Big_notes_field.txt");
        assert!(d.notes.contains("Big_notes_field.txt"));
        assert_eq!(d.custom_text("b").map(str::len), Some(2 * 1024 * 1024));
        assert!(data_size(&d) <= MAX_RECORD_DATA);
        assert_eq!(d.login(), Some("me"));
    }

    #[test]
    fn small_records_are_untouched_and_huge_titles_fail() {
        let mut d = RecordData::new("login", "Small");
        d.notes = "x".repeat(1000).into();
        let before = d.clone();
        assert_eq!(fit(&mut d, &mut Vec::new()).expect("fits"), 0);
        assert!(d == before);
        let mut huge = RecordData::new("login", &"t".repeat(MAX_RECORD_DATA + 1));
        assert!(fit(&mut huge, &mut Vec::new()).is_err());
    }
}
