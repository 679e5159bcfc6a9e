//! What a native library's ELF dynamic section asks of the dynamic
//! loader, read from its bytes before they are loaded: the folders it
//! adds to the loader's search (`DT_RPATH`, `DT_RUNPATH`), which keeper
//! refuses, and the libraries it needs (`DT_NEEDED`), which `plugin
//! info` lists. Read as the loader reads it, from the program headers'
//! `PT_DYNAMIC` segments (section headers can be stripped or say
//! otherwise), with the `object` crate (already in the tree through
//! wasmtime, with these features).

use object::Endianness;
use object::elf;
use object::read::StringTable;
use object::read::elf::{Dyn as _, FileHeader, ProgramHeader as _};

/// What the dynamic section says (empty for a library without one).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Dynamic {
    /// `DT_NEEDED`: the libraries the loader loads with it, by name,
    /// found by its usual search and not hashed.
    pub(crate) needed: Vec<String>,
    /// `DT_RPATH` and `DT_RUNPATH` entries: (the tag's name, its value).
    pub(crate) search: Vec<(&'static str, String)>,
}

/// Why a library's dynamic section cannot be read (it is ELF, but not
/// one the loader could be trusted to read as keeper did).
#[derive(Debug, thiserror::Error)]
#[error("its ELF headers cannot be read ({0})")]
pub(crate) struct Malformed(String);

/// The dynamic section of `bytes`, or `None` when they are not ELF (the
/// loader says what they are not; Mach-O is not read here).
///
/// # Errors
///
/// [`Malformed`] for ELF whose headers or dynamic entries are broken.
pub(crate) fn dynamic(bytes: &[u8]) -> Result<Option<Dynamic>, Malformed> {
    if !bytes.starts_with(&elf::ELFMAG) {
        return Ok(None);
    }
    // The class byte follows the magic (`e_ident[EI_CLASS]`).
    let dynamic = match bytes.get(elf::ELFMAG.len()) {
        Some(&elf::ELFCLASS64) => read::<elf::FileHeader64<Endianness>>(bytes),
        Some(&elf::ELFCLASS32) => read::<elf::FileHeader32<Endianness>>(bytes),
        _ => Err(Malformed("unknown ELF class".into())),
    };
    dynamic.map(Some)
}

/// [`dynamic`] of an ELF file of one class.
fn read<Elf: FileHeader<Endian = Endianness>>(bytes: &[u8]) -> Result<Dynamic, Malformed> {
    let header = Elf::parse(bytes).map_err(malformed)?;
    let endian = header.endian().map_err(malformed)?;
    let segments = header.program_headers(endian, bytes).map_err(malformed)?;
    let mut out = Dynamic::default();
    // Every PT_DYNAMIC segment, should there be more than one.
    for segment in segments {
        let Some(entries) = segment.dynamic(endian, bytes).map_err(malformed)? else {
            continue;
        };
        let entries: Vec<(i64, u64)> = entries
            .iter()
            .map(|d| (d.tag(endian), d.val(endian)))
            .take_while(|&(tag, _)| tag != elf::DT_NULL)
            .collect();
        let value = |wanted: i64| entries.iter().find(|(tag, _)| *tag == wanted).map(|e| e.1);
        // The string table, found through the loaded segments by address.
        let strings = match (value(elf::DT_STRTAB), value(elf::DT_STRSZ)) {
            (Some(address), Some(size)) => segments
                .iter()
                .filter(|s| s.p_type(endian) == elf::PT_LOAD)
                .find_map(|s| s.data_range(endian, bytes, address, size).ok().flatten())
                .map(|data| StringTable::new(data, 0, size)),
            _ => None,
        };
        let text = |offset: u64| {
            let found = u32::try_from(offset)
                .ok()
                .zip(strings.as_ref())
                .and_then(|(offset, strings)| strings.get(offset).ok());
            match found {
                Some(name) => String::from_utf8_lossy(name).into_owned(),
                None => "(unreadable)".to_string(),
            }
        };
        for &(tag, val) in &entries {
            match tag {
                elf::DT_NEEDED => out.needed.push(text(val)),
                elf::DT_RPATH => out.search.push(("DT_RPATH", text(val))),
                elf::DT_RUNPATH => out.search.push(("DT_RUNPATH", text(val))),
                _ => {}
            }
        }
    }
    Ok(out)
}

fn malformed(error: object::read::Error) -> Malformed {
    Malformed(error.to_string())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::runtime::native::tests::c_library;

    /// A library that calls the C library (so it needs it, even linked
    /// `--as-needed`).
    fn library(dir: &std::path::Path, name: &str, flags: &[&str]) -> Vec<u8> {
        c_library(
            dir,
            name,
            1,
            "void *keeper_elf_test(void) { return malloc(1); }",
            flags,
        )
    }

    /// A plain library needs libc and searches nowhere else; `-rpath`
    /// gives a `DT_RUNPATH` (new dtags) or a `DT_RPATH` (old), with its
    /// value; what is not ELF is not read; broken ELF is refused.
    #[test]
    fn reads_needed_libraries_and_search_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let plain = dynamic(&library(dir.path(), "plain", &[]))
            .expect("read")
            .expect("ELF");
        assert!(plain.search.is_empty(), "{plain:?}");
        assert!(
            plain.needed.iter().any(|n| n.starts_with("libc.so")),
            "{plain:?}"
        );
        let runpath = dynamic(&library(
            dir.path(),
            "runpath",
            &["-Wl,--enable-new-dtags,-rpath,$ORIGIN/vendor"],
        ))
        .expect("read")
        .expect("ELF");
        assert_eq!(
            runpath.search,
            [("DT_RUNPATH", "$ORIGIN/vendor".to_string())]
        );
        let rpath = dynamic(&library(
            dir.path(),
            "rpath",
            &["-Wl,--disable-new-dtags,-rpath,/tmp/anyone"],
        ))
        .expect("read")
        .expect("ELF");
        assert_eq!(rpath.search, [("DT_RPATH", "/tmp/anyone".to_string())]);

        assert_eq!(dynamic(b"not a library").expect("not ELF"), None);
        let mut broken = library(dir.path(), "broken", &[]);
        broken.truncate(80);
        assert!(dynamic(&broken).is_err());
    }
}
