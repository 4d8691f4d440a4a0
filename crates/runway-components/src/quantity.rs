//! A validated Kubernetes quantity (`100Gi`, `500m`, `1.5`), because k8s-openapi's
//! `Quantity` is a bare string and a typo there only fails at `kubectl apply`.

use std::fmt;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A quantity in Kubernetes' syntax: a decimal number with an optional binary suffix
/// (`Ki` .. `Ei`), decimal suffix (`n`, `u`, `m`, `k`, `M` .. `E`) or exponent (`e3`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(String);

/// Why a quantity string is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a Kubernetes quantity (e.g. `100Gi`, `500m`, `2`)")]
pub struct QuantityError(pub String);

impl Quantity {
    /// Parses and validates.
    pub fn parse(s: &str) -> Result<Self, QuantityError> {
        if Self::to_f64_checked(s).is_some() {
            Ok(Quantity(s.to_string()))
        } else {
            Err(QuantityError(s.to_string()))
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value in base units (bytes, cores), for comparisons such as heap < limit.
    pub fn to_f64(&self) -> f64 {
        // Invariant: only validated strings are stored.
        Self::to_f64_checked(&self.0).unwrap_or(0.0)
    }

    /// The value in mebibytes, rounded down.
    pub fn mebibytes(&self) -> u64 {
        (self.to_f64() / 1_048_576.0) as u64
    }

    /// As k8s-openapi's type.
    pub fn to_k8s(&self) -> K8sQuantity {
        K8sQuantity(self.0.clone())
    }

    fn to_f64_checked(s: &str) -> Option<f64> {
        let s = s.trim();
        if s.is_empty() || s != s.trim() {
            return None;
        }
        let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(s.len());
        let (num, suffix) = s.split_at(split);
        let body = num.strip_prefix(['+', '-']).unwrap_or(num);
        if body.is_empty() || body.matches('.').count() > 1 || body.contains(['+', '-']) || body == "." {
            return None;
        }
        let n: f64 = num.parse().ok()?;
        let mult = match suffix {
            "" => 1.0,
            "Ki" => 1024f64,
            "Mi" => 1024f64.powi(2),
            "Gi" => 1024f64.powi(3),
            "Ti" => 1024f64.powi(4),
            "Pi" => 1024f64.powi(5),
            "Ei" => 1024f64.powi(6),
            "n" => 1e-9,
            "u" => 1e-6,
            "m" => 1e-3,
            "k" => 1e3,
            "M" => 1e6,
            "G" => 1e9,
            "T" => 1e12,
            "P" => 1e15,
            "E" => 1e18,
            e if e.starts_with(['e', 'E']) => {
                let exp: i32 = e[1..].parse().ok()?;
                10f64.powi(exp)
            }
            _ => return None,
        };
        Some(n * mult)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            N(serde_json::Number),
        }
        let text = match Raw::deserialize(d)? {
            Raw::S(s) => s,
            Raw::N(n) => n.to_string(),
        };
        Quantity::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Quantity {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Quantity".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A Kubernetes quantity, e.g. `100Gi`, `500m`, `2`",
            "anyOf": [{"type": "string"}, {"type": "number"}]
        })
    }
}

impl From<&str> for Quantity {
    /// For literals in code; panics on an invalid quantity, so use it only with constants.
    fn from(s: &str) -> Self {
        Quantity::parse(s).unwrap_or_else(|e| panic!("invalid quantity literal: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_decimal_suffixes_parse() {
        assert_eq!(Quantity::parse("1Gi").unwrap().mebibytes(), 1024);
        assert!((Quantity::parse("500m").unwrap().to_f64() - 0.5).abs() < 1e-9);
        assert!(Quantity::parse("1e3").is_ok());
        assert!(Quantity::parse("16384Mi").is_ok());
    }

    #[test]
    fn invalid_quantities_are_rejected() {
        for bad in ["", "Gi", "10GB", "1.2.3", "ten", "1 Gi", "--1"] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_deserialize_as_quantities() {
        let q: Quantity = serde_json::from_value(serde_json::json!(2)).unwrap();
        assert_eq!(q.as_str(), "2");
    }
}
