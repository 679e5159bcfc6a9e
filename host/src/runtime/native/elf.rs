//! What a native library's ELF dynamic section asks of the dynamic
//! loader, read from its bytes before they are loaded: the folders it
//! adds to the loader's search (`DT_RPATH`, `DT_RUNPATH`), which keeper
//! refuses, and the libraries the loader loads with it (`DT_NEEDED`,
//! `DT_AUXILIARY`, `DT_FILTER`), which `plugin info` lists. Read where
//! glibc reads it: the program headers at `e_phoff`, each `PT_DYNAMIC`'s
//! entries at its address (`p_vaddr`) in the bytes the `PT_LOAD` segments
//! map there, up to `DT_NULL`, and names up to their NUL at `DT_STRTAB`'s
//! address, whatever `p_filesz` and `DT_STRSZ` say. What could be read
//! otherwise by the loader (`e_phoff` 0, `e_phnum` `PN_XNUM`, a shared
//! object with no `PT_DYNAMIC`, entries or a name outside what is
//! mapped) is refused as [`Malformed`]. Headers are parsed with the
//! `object` crate (already in the tree through wasmtime).

use object::Endianness;
use object::elf;
use object::read::ReadRef as _;
use object::read::elf::{Dyn as _, FileHeader, ProgramHeader as _};

/// What the dynamic section says (empty for a library without one).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Dynamic {
    /// `DT_NEEDED`, `DT_AUXILIARY` and `DT_FILTER`: the libraries the
    /// loader loads with it, by name, not hashed.
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
/// [`Malformed`] for ELF whose headers or dynamic entries are broken, or
/// that the loader could read otherwise than keeper does.
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
    // glibc takes e_phnum as the count and e_phoff as the place, even 0;
    // `object` would take the count from section 0 or read no header.
    let count = header.e_phnum(endian);
    if count == elf::PN_XNUM {
        return Err(Malformed("e_phnum is PN_XNUM".into()));
    }
    if header.e_phoff(endian).into() == 0 && count != 0 {
        return Err(Malformed("e_phoff is 0".into()));
    }
    let segments = header.program_headers(endian, bytes).map_err(malformed)?;
    let memory = Memory::<Elf> {
        loads: segments
            .iter()
            .filter(|s| s.p_type(endian) == elf::PT_LOAD)
            .map(|s| {
                let start = s.p_vaddr(endian).into();
                (
                    start,
                    start.saturating_add(s.p_filesz(endian).into()),
                    s.p_offset(endian).into(),
                )
            })
            .collect(),
        bytes,
        endian,
        header: std::marker::PhantomData,
    };
    let dynamics: Vec<u64> = segments
        .iter()
        .filter(|s| s.p_type(endian) == elf::PT_DYNAMIC)
        .map(|s| s.p_vaddr(endian).into())
        .collect();
    if dynamics.is_empty() && header.e_type(endian) == elf::ET_DYN {
        return Err(Malformed("a shared object with no PT_DYNAMIC".into()));
    }
    let mut out = Dynamic::default();
    // Every PT_DYNAMIC segment, should there be more than one.
    for address in dynamics {
        let entries = memory.entries(address)?;
        // The loader keeps the last entry of a tag.
        let strtab = entries
            .iter()
            .rev()
            .find(|(tag, _)| *tag == elf::DT_STRTAB)
            .map(|e| e.1);
        let text = |offset: u64| -> Result<String, Malformed> {
            let name = strtab
                .and_then(|table| table.checked_add(offset))
                .and_then(|address| memory.string(address))
                .ok_or_else(|| Malformed("a dynamic entry's name is outside the library".into()))?;
            Ok(String::from_utf8_lossy(name).into_owned())
        };
        for &(tag, val) in &entries {
            match tag {
                elf::DT_NEEDED | elf::DT_AUXILIARY | elf::DT_FILTER => out.needed.push(text(val)?),
                elf::DT_RPATH => out.search.push(("DT_RPATH", text(val)?)),
                elf::DT_RUNPATH => out.search.push(("DT_RUNPATH", text(val)?)),
                _ => {}
            }
        }
    }
    Ok(out)
}

/// The file's bytes as its `PT_LOAD` segments map them, by address.
struct Memory<'data, Elf: FileHeader> {
    /// Each `PT_LOAD`: (first address, address past its file bytes, file
    /// offset).
    loads: Vec<(u64, u64, u64)>,
    bytes: &'data [u8],
    endian: Elf::Endian,
    header: std::marker::PhantomData<Elf>,
}

impl<'data, Elf: FileHeader> Memory<'data, Elf> {
    /// The file bytes mapped from `address` to the end of its segment's
    /// file bytes; `None` if no single `PT_LOAD` maps it.
    fn at(&self, address: u64) -> Option<&'data [u8]> {
        let mut holding = self
            .loads
            .iter()
            .filter(|(start, end, _)| (*start..*end).contains(&address));
        let (start, end, offset) = holding.next()?;
        if holding.next().is_some() {
            return None;
        }
        let from = offset.checked_add(address - start)?;
        let to = offset.checked_add(end - start)?;
        self.bytes.read_bytes_at(from, to.checked_sub(from)?).ok()
    }

    /// The dynamic entries at `address`, (tag, value), up to `DT_NULL`.
    fn entries(&self, address: u64) -> Result<Vec<(i64, u64)>, Malformed> {
        let data = self
            .at(address)
            .ok_or_else(|| Malformed("PT_DYNAMIC is not in the mapped file".into()))?;
        let size = std::mem::size_of::<Elf::Dyn>();
        let all = data
            .read_slice_at::<Elf::Dyn>(0, data.len() / size)
            .map_err(|()| Malformed("PT_DYNAMIC cannot be read".into()))?;
        let mut entries = Vec::new();
        for entry in all {
            let tag = entry.tag(self.endian);
            if tag == elf::DT_NULL {
                return Ok(entries);
            }
            entries.push((tag, entry.val(self.endian)));
        }
        Err(Malformed(
            "PT_DYNAMIC has no DT_NULL in the mapped file".into(),
        ))
    }

    /// The NUL-terminated string at `address`.
    fn string(&self, address: u64) -> Option<&'data [u8]> {
        let data = self.at(address)?;
        let end = data.iter().position(|&b| b == 0)?;
        data.get(..end)
    }
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

    /// A little-endian 64-bit field of `bytes` at `at`, `len` bytes wide.
    fn field(bytes: &[u8], at: usize, len: usize) -> u64 {
        let mut word = [0; 8];
        word[..len].copy_from_slice(&bytes[at..at + len]);
        u64::from_le_bytes(word)
    }

    fn set(bytes: &mut [u8], at: usize, len: usize, value: u64) {
        bytes[at..at + len].copy_from_slice(&value.to_le_bytes()[..len]);
    }

    /// The file offset of the program header of type `kind`.
    fn program_header(bytes: &[u8], kind: u32) -> usize {
        let (phoff, phnum) = (
            field(bytes, 0x20, 8) as usize,
            field(bytes, 0x38, 2) as usize,
        );
        (0..phnum)
            .map(|i| phoff + i * 56)
            .find(|&at| field(bytes, at, 4) == u64::from(kind))
            .expect("program header")
    }

    /// The file offset of the first dynamic entry tagged `tag` (these
    /// libraries map PT_DYNAMIC at its own file offset).
    fn entry(bytes: &[u8], tag: i64) -> usize {
        let dynamic = field(bytes, program_header(bytes, elf::PT_DYNAMIC) + 8, 8) as usize;
        (dynamic..)
            .step_by(16)
            .find(|&at| field(bytes, at, 8) == tag as u64)
            .expect("entry")
    }

    /// Libraries patched so that `object` (and keeper before) read less
    /// than glibc does: each is refused or shows what the loader sees.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn crafted_headers_hide_nothing_from_the_check() {
        let dir = tempfile::tempdir().expect("tempdir");
        let runpath = library(
            dir.path(),
            "runpath",
            &["-Wl,--enable-new-dtags,-rpath,$ORIGIN/vendor"],
        );
        let seen = || Some(vec![("DT_RUNPATH", "$ORIGIN/vendor".to_string())]);
        let search = |bytes: &[u8]| dynamic(bytes).ok().flatten().map(|d| d.search);
        assert_eq!(search(&runpath), seen());

        // (a) PT_DYNAMIC's p_filesz cut to one entry: read up to DT_NULL.
        let mut short = runpath.clone();
        set(
            &mut short,
            program_header(&runpath, elf::PT_DYNAMIC) + 32,
            8,
            16,
        );
        assert_eq!(search(&short), seen(), "p_filesz 16");
        // PT_DYNAMIC's p_offset pointing elsewhere: read at p_vaddr.
        let mut moved = runpath.clone();
        set(
            &mut moved,
            program_header(&runpath, elf::PT_DYNAMIC) + 8,
            8,
            0,
        );
        assert_eq!(search(&moved), seen(), "p_offset 0");
        // (b) e_phoff 0 (glibc reads headers there; object reads none).
        let mut at_zero = runpath.clone();
        set(&mut at_zero, 0x20, 8, 0);
        assert!(dynamic(&at_zero).is_err(), "e_phoff 0");
        // (c) e_phnum PN_XNUM, section 0's sh_info 1 (object reads one).
        let mut xnum = runpath.clone();
        set(&mut xnum, 0x38, 2, u64::from(elf::PN_XNUM));
        let section_zero = field(&runpath, 0x28, 8) as usize;
        set(&mut xnum, section_zero + 44, 4, 1);
        assert!(dynamic(&xnum).is_err(), "e_phnum PN_XNUM");

        // (d) DT_STRSZ out of range: names are still read to their NUL.
        c_library(
            dir.path(),
            "dependency",
            1,
            "",
            &["-Wl,-soname,./dependency.so"],
        );
        let dependency = dir.path().join("dependency.so");
        let dependency = dependency.to_str().expect("UTF-8");
        let relative = library(dir.path(), "relative", &["-Wl,--no-as-needed", dependency]);
        let needed = |bytes: &[u8]| dynamic(bytes).ok().flatten().map(|d| d.needed);
        let has =
            |bytes: &[u8]| needed(bytes).is_some_and(|n| n.iter().any(|n| n == "./dependency.so"));
        assert!(has(&relative), "{:?}", needed(&relative));
        let mut strsz = relative.clone();
        set(
            &mut strsz,
            entry(&relative, elf::DT_STRSZ) + 8,
            8,
            0xffff_ffff,
        );
        assert!(has(&strsz), "DT_STRSZ 0xffffffff: {:?}", needed(&strsz));
        // A name outside the mapped file is refused, never passed.
        let mut lost = relative.clone();
        set(
            &mut lost,
            entry(&relative, elf::DT_NEEDED) + 8,
            8,
            0xffff_ff00,
        );
        assert!(dynamic(&lost).is_err(), "{:?}", needed(&lost));
        // A shared object with no PT_DYNAMIC is refused.
        let mut none = runpath.clone();
        set(
            &mut none,
            program_header(&runpath, elf::PT_DYNAMIC),
            4,
            u64::from(elf::PT_NULL),
        );
        assert!(dynamic(&none).is_err(), "no PT_DYNAMIC");
    }
}
