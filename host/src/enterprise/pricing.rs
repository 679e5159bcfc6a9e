//! An MSP's price table. There is no Keeper cloud to ask for prices, so
//! they are provisioned with the MSP: `[[prices]]` entries in the
//! licences file of `enterprise-init`, replaced later with
//! `keeper msp-prices FILE` (a file of `[[prices]]` entries). keeper never
//! invents a price: a product without an entry has none.
//!
//! Each entry: `code` (a plan, add-on or file plan code), `category`
//! (`products`, `addons` or `file plans`, which must fit the code),
//! `amount` (a number, at most 4 decimals), `currency` (`USD`, `EUR`,
//! `GBP`, `JPY` or their symbol) and `unit` (`user/month` or `month`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Msp;
use super::error::{EnterpriseError, Result};
use super::model;
use super::ops::refusable;
use crate::vault::store::StoreRead;
use crate::vault::store::enterprise::PricesRow;
use crate::vault::{Vault, VaultError};

/// Ten-thousandths in one unit of currency.
const SCALE: i64 = 10_000;

/// A `[[prices]]` entry as written in a file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PriceEntry {
    code: String,
    category: String,
    amount: Amount,
    currency: String,
    unit: String,
}

/// An amount as TOML or JSON gives it: a number or a decimal string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Amount {
    Integer(i64),
    Float(f64),
    Text(String),
}

/// What a price applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) enum Category {
    /// Plans.
    #[serde(rename = "products")]
    Products,
    /// Add-ons.
    #[serde(rename = "addons")]
    Addons,
    /// File storage plans.
    #[serde(rename = "file plans")]
    FilePlans,
}

impl Category {
    /// As `msp-info -p` shows it.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Self::Products => "Products",
            Self::Addons => "Addons",
            Self::FilePlans => "File Plans",
        }
    }

    /// The category of a product code, with its canonical code, display
    /// name and place in listings.
    pub(crate) fn of_code(code: &str) -> Option<(Self, &'static str, &'static str, usize)> {
        if let Some(p) = model::plan(code) {
            let at = model::PLANS.iter().position(|q| q.code == p.code)?;
            return Some((Self::Products, p.code, p.display, at));
        }
        if let Some(a) = model::addon_by_code(code) {
            return Some((Self::Addons, a.code, a.display, model::addon_order(a.code)));
        }
        let f = model::file_plan(code)?;
        let at = model::FILE_PLANS.iter().position(|g| g.code == f.code)?;
        Some((Self::FilePlans, f.code, f.display, at))
    }
}

/// One price, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Price {
    /// Products, add-ons or file plans.
    pub category: Category,
    /// Canonical code (`businessPlus`, `STORAGE_1TB`, `chat`).
    pub code: String,
    /// Amount in ten-thousandths of the currency.
    pub amount_e4: i64,
    /// ISO code (`USD`).
    pub currency: String,
    /// `user/month` or `month`.
    pub unit: String,
}

const CURRENCIES: [(&str, &str); 4] = [("USD", "$"), ("EUR", "€"), ("GBP", "£"), ("JPY", "¥")];
const UNITS: [&str; 2] = ["user/month", "month"];

impl Price {
    /// The display name of what it prices.
    pub(crate) fn name(&self) -> &'static str {
        Category::of_code(&self.code).map_or("", |(_, _, name, _)| name)
    }

    /// `$3.75/user/month`.
    pub(crate) fn text(&self) -> String {
        format!("{}/{}", money(&self.currency, self.amount_e4), self.unit)
    }

    /// Whether it is charged per user (seat) rather than per company.
    pub(crate) fn per_user(&self) -> bool {
        self.unit == "user/month"
    }
}

/// `$3.75` for an amount in ten-thousandths: at least 2 decimals, more
/// only when the amount has them.
pub(crate) fn money(currency: &str, amount_e4: i64) -> String {
    let symbol = CURRENCIES
        .iter()
        .find(|(c, _)| *c == currency)
        .map_or(currency, |(_, s)| s);
    let sign = if amount_e4 < 0 { "-" } else { "" };
    let a = amount_e4.unsigned_abs();
    let whole = a / 10_000;
    let mut frac = format!("{:04}", a % 10_000);
    while frac.len() > 2 && frac.ends_with('0') {
        frac.pop();
    }
    format!("{sign}{symbol}{whole}.{frac}")
}

/// An MSP's price table, in `msp-info -p` order (products, add-ons, file
/// plans, each in Commander's order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PriceTable {
    /// The prices.
    pub prices: Vec<Price>,
}

impl PriceTable {
    /// The MSP's table, `None` when none was provisioned.
    ///
    /// # Errors
    ///
    /// Storage errors; a stored table that does not parse is corrupted.
    pub(crate) fn of(store: &dyn StoreRead, msp_uid: &str) -> Result<Option<Self>> {
        let Some(row) = store.msp_prices(msp_uid)? else {
            return Ok(None);
        };
        let prices: Vec<Price> = serde_json::from_str(&row.prices)
            .map_err(|e| VaultError::Corrupted(format!("the price table of MSP {msp_uid}: {e}")))?;
        Ok(Some(Self { prices }))
    }

    /// The price of a product code, if it has one.
    pub(crate) fn get(&self, code: &str) -> Option<&Price> {
        self.prices.iter().find(|p| p.code == code)
    }

    /// Checks file entries; the first bad one is named in the error.
    ///
    /// # Errors
    ///
    /// A message naming the entry and what is wrong with it.
    pub(crate) fn check(entries: &[PriceEntry]) -> std::result::Result<Self, String> {
        let mut prices: Vec<(usize, Price)> = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let at = |what: String| format!("prices entry {} ({:?}): {what}", i + 1, e.code);
            let (category, code, _, order) = Category::of_code(&e.code)
                .ok_or_else(|| at("not a plan, add-on or file plan code".into()))?;
            let wanted = match e.category.to_ascii_lowercase().as_str() {
                "products" => Category::Products,
                "addons" => Category::Addons,
                "file plans" => Category::FilePlans,
                other => {
                    return Err(at(format!(
                        "category {other:?}: use products, addons or file plans"
                    )));
                }
            };
            if wanted != category {
                return Err(at(format!(
                    "it belongs to {}, not {}",
                    category.title(),
                    e.category
                )));
            }
            let currency = CURRENCIES
                .iter()
                .find(|(c, s)| c.eq_ignore_ascii_case(&e.currency) || *s == e.currency)
                .map(|(c, _)| (*c).to_string())
                .ok_or_else(|| {
                    at(format!(
                        "currency {:?}: use USD, EUR, GBP or JPY",
                        e.currency
                    ))
                })?;
            let unit = UNITS
                .iter()
                .find(|u| u.eq_ignore_ascii_case(e.unit.trim()))
                .ok_or_else(|| at(format!("unit {:?}: use user/month or month", e.unit)))?;
            let amount_e4 = amount(&e.amount).ok_or_else(|| {
                at("amount: a number of at least 0 with at most 4 decimals".into())
            })?;
            if prices.iter().any(|(_, p)| p.code == code) {
                return Err(at("priced twice".into()));
            }
            prices.push((
                (category as usize) * 100 + order,
                Price {
                    category,
                    code: code.to_string(),
                    amount_e4,
                    currency,
                    unit: (*unit).to_string(),
                },
            ));
        }
        prices.sort_by_key(|(k, _)| *k);
        Ok(Self {
            prices: prices.into_iter().map(|(_, p)| p).collect(),
        })
    }
}

/// An amount in ten-thousandths; `None` if negative, too precise or not a
/// number.
fn amount(a: &Amount) -> Option<i64> {
    let text = match a {
        Amount::Integer(n) => return n.checked_mul(SCALE).filter(|v| *v >= 0),
        Amount::Float(f) => format!("{f}"),
        Amount::Text(t) => t.trim().to_string(),
    };
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty()
        || frac.len() > 4
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let frac: i64 = format!("{frac:0<4}").parse().ok()?;
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(SCALE)?
        .checked_add(frac)
}

/// A file holding only `[[prices]]` (`keeper msp-prices FILE`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PricesFile {
    #[serde(default)]
    prices: Vec<PriceEntry>,
}

/// Reads and checks a prices file (TOML, or JSON by its extension).
///
/// # Errors
///
/// [`EnterpriseError::Licences`] naming the file and the problem.
pub(crate) fn read_file(path: &Path) -> Result<PriceTable> {
    let bad = |reason: String| EnterpriseError::Licences {
        path: path.display().to_string(),
        reason,
    };
    let file: PricesFile = super::files::parse(path)?;
    PriceTable::check(&file.prices).map_err(bad)
}

/// The stored form of a table.
pub(crate) fn row(msp_uid: &str, table: &PriceTable) -> Result<PricesRow> {
    let prices = serde_json::to_string(&table.prices)
        .map_err(|e| VaultError::Storage(format!("cannot encode the price table: {e}")))?;
    Ok(PricesRow {
        msp_uid: msp_uid.to_string(),
        prices,
    })
}

impl Msp {
    /// Replaces the MSP's price table.
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub(crate) fn set_prices(&self, vault: &mut Vault, table: &PriceTable) -> Result<()> {
        let row = row(&self.uid, table)?;
        refusable(vault, |tx| Ok(tx.put_msp_prices(&row)?))
    }

    /// The MSP's price table, if provisioned.
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub(crate) fn prices(&self, vault: &Vault) -> Result<Option<PriceTable>> {
        PriceTable::of(vault.store_read(), &self.uid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(code: &str, category: &str, amount: Amount, unit: &str) -> PriceEntry {
        PriceEntry {
            code: code.into(),
            category: category.into(),
            amount,
            currency: "USD".into(),
            unit: unit.into(),
        }
    }

    #[test]
    fn entries_are_checked_sorted_and_shown_as_commander_does() {
        let table = PriceTable::check(&[
            entry("1tb", "file plans", Amount::Integer(10), "month"),
            entry("chat", "addons", Amount::Text("1.5".into()), "user/month"),
            entry("Business", "products", Amount::Float(3.75), "user/month"),
        ])
        .expect("valid");
        let shown: Vec<(String, &str, String)> = table
            .prices
            .iter()
            .map(|p| (p.category.title().to_string(), p.name(), p.text()))
            .collect();
        assert_eq!(
            shown,
            [
                ("Products".into(), "Business", "$3.75/user/month".into()),
                ("Addons".into(), "KeeperChat", "$1.50/user/month".into()),
                ("File Plans".into(), "1TB", "$10.00/month".into()),
            ]
        );
        assert_eq!(table.get("STORAGE_1TB").map(|p| p.amount_e4), Some(100_000));
        assert_eq!(money("EUR", 12_345), "€1.2345");
    }

    #[test]
    fn bad_entries_are_named() {
        let one = |e: PriceEntry| PriceTable::check(&[e]).expect_err("refused");
        assert!(one(entry("gold", "products", Amount::Integer(1), "month")).contains("not a plan"));
        assert!(one(entry("chat", "products", Amount::Integer(1), "month")).contains("Addons"));
        assert!(one(entry("chat", "addons", Amount::Integer(-1), "month")).contains("amount"));
        assert!(
            one(entry(
                "chat",
                "addons",
                Amount::Text("1.23456".into()),
                "month"
            ))
            .contains("amount")
        );
        assert!(one(entry("chat", "addons", Amount::Integer(1), "year")).contains("unit"));
        let twice = PriceTable::check(&[
            entry("chat", "addons", Amount::Integer(1), "month"),
            entry("CHAT", "addons", Amount::Integer(2), "month"),
        ])
        .expect_err("twice");
        assert!(twice.contains("twice"), "{twice}");
    }
}
