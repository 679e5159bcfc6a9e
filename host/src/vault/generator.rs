//! Password generation for `$GEN` (Commander's `$GEN[:alg[,length]]`).
//! Uses the operating system's generator; every character class is present.

use rand::seq::SliceRandom as _;
use secrecy::SecretString;

use super::crypto::fill_random;

const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const DIGITS: &[u8] = b"23456789";
const SYMBOLS: &[u8] = b"!#%&()*+,-.:;<=>?@[]^_{}~";

/// Default generated length.
pub const DEFAULT_LENGTH: usize = 20;

/// Parses `$GEN`, `$GEN:rand`, `$GEN:rand,24`, `$GEN:24` and returns a new
/// password, or `None` when `value` is not a `$GEN` request.
///
/// # Errors
///
/// A message for a length outside 4..=256 or an unknown algorithm.
pub fn from_spec(value: &str) -> Option<Result<SecretString, String>> {
    let rest = value.strip_prefix("$GEN")?;
    let spec = rest.strip_prefix(':').unwrap_or(rest);
    if !rest.is_empty() && !rest.starts_with(':') {
        return None;
    }
    let mut length = DEFAULT_LENGTH;
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "rand" | "crypto" | "dice" => {}
            n => match n.parse::<usize>() {
                Ok(n) if (4..=256).contains(&n) => length = n,
                _ => {
                    return Some(Err(format!(
                        "$GEN: {n:?} is not an algorithm (rand) or a length 4..256"
                    )));
                }
            },
        }
    }
    Some(Ok(generate(length)))
}

/// A random password of `length` (at least 4) characters with upper, lower,
/// digit and symbol characters.
pub fn generate(length: usize) -> SecretString {
    let length = length.max(4);
    let all: Vec<u8> = [UPPER, LOWER, DIGITS, SYMBOLS].concat();
    let mut out: Vec<u8> = Vec::with_capacity(length);
    for class in [UPPER, LOWER, DIGITS, SYMBOLS] {
        out.push(pick(class));
    }
    while out.len() < length {
        out.push(pick(&all));
    }
    out.shuffle(&mut rand::rng());
    let s = String::from_utf8(out).unwrap_or_default();
    SecretString::from(s)
}

/// One uniformly chosen byte of `set` (rejection sampling).
fn pick(set: &[u8]) -> u8 {
    let n = set.len();
    let limit = 256 - (256 % n);
    loop {
        let mut b = [0u8; 1];
        fill_random(&mut b);
        if (b[0] as usize) < limit {
            return set[b[0] as usize % n];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn spec_parsing() {
        assert_eq!(
            from_spec("$GEN").map(|r| r.map(|s| s.expose_secret().len())),
            Some(Ok(20))
        );
        assert_eq!(
            from_spec("$GEN:rand,32").map(|r| r.map(|s| s.expose_secret().len())),
            Some(Ok(32))
        );
        assert_eq!(
            from_spec("$GEN:12").map(|r| r.map(|s| s.expose_secret().len())),
            Some(Ok(12))
        );
        assert!(from_spec("$GEN:huge").is_some_and(|r| r.is_err()));
        assert!(from_spec("$GENERAL").is_none());
        assert!(from_spec("plain").is_none());
    }

    #[test]
    fn every_class_present() {
        let p = generate(8);
        let p = p.expose_secret();
        assert!(p.bytes().any(|b| UPPER.contains(&b)));
        assert!(p.bytes().any(|b| LOWER.contains(&b)));
        assert!(p.bytes().any(|b| DIGITS.contains(&b)));
        assert!(p.bytes().any(|b| SYMBOLS.contains(&b)));
    }
}
