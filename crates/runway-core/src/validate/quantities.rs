//! Quantities (`500m`, `2Gi`, `1e3`) where Kubernetes reads them: containers' resource
//! requests and limits, and claims' storage requests (a PVC's and a StatefulSet's claim
//! templates'). k8s-openapi's `Quantity` is a bare string, so a typo survives the typed
//! round-trip; the API server rejects it. A request above its limit is rejected too.

use crate::pointer::JsonPointer as _;
use std::cmp::Ordering;

use serde_json::Value as J;

use super::{containers, finding, items, pod_spec};
use crate::error::Error;
use crate::object::Object;
use crate::path::KeyPath;

/// A parsed quantity: `digits × 10^exp10 × 2^exp2`, exact (no floating point), so that
/// `1Gi` and `1073741824` compare equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Amount {
    negative: bool,
    digits: u128,
    exp10: i32,
    exp2: i32,
}

impl Amount {
    /// Parses Kubernetes' quantity syntax: an optional sign, a decimal number, then a
    /// binary suffix (`Ki` .. `Ei`), a decimal suffix (`n`, `u`, `m`, `k`, `M` .. `E`) or a
    /// decimal exponent (`e3`, `E-2`). `None` when `s` is not one.
    pub fn parse(s: &str) -> Option<Amount> {
        let (negative, rest) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (num, suffix) = rest.split_at(end);
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
            return None;
        }
        // Digits beyond u128's precision are not a real quantity.
        if int.len() + frac.len() > 30 {
            return None;
        }
        let digits: u128 = format!("{int}{frac}").parse().ok()?;
        let mut exp10 = -i32::try_from(frac.len()).ok()?;
        let mut exp2 = 0;
        match suffix {
            "" => {}
            "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
                let k = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"].iter().position(|x| *x == suffix)?;
                exp2 = 10 * (i32::try_from(k).ok()? + 1);
            }
            "n" => exp10 -= 9,
            "u" => exp10 -= 6,
            "m" => exp10 -= 3,
            "k" => exp10 += 3,
            "M" => exp10 += 6,
            "G" => exp10 += 9,
            "T" => exp10 += 12,
            "P" => exp10 += 15,
            "E" => exp10 += 18,
            _ => {
                let exp = suffix.strip_prefix(['e', 'E'])?;
                let body = exp.strip_prefix(['+', '-']).unwrap_or(exp);
                if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) || body.len() > 4 {
                    return None;
                }
                exp10 += exp.parse::<i32>().ok()?;
            }
        }
        Some(Amount { negative, digits, exp10, exp2 })
    }

    /// Compares two amounts exactly (both scaled to a common integer when they fit, else
    /// through their logarithms, which differ a lot when they do not fit).
    pub fn compare(&self, other: &Amount) -> Ordering {
        let sign = |a: &Amount| {
            if a.digits == 0 {
                0
            } else if a.negative {
                -1
            } else {
                1
            }
        };
        match sign(self).cmp(&sign(other)) {
            Ordering::Equal if sign(self) == 0 => return Ordering::Equal,
            Ordering::Equal => {}
            o => return o,
        }
        let magnitude = match (self.scaled(other), other.scaled(self)) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self.log10().total_cmp(&other.log10()),
        };
        if self.negative {
            magnitude.reverse()
        } else {
            magnitude
        }
    }

    /// `digits × 10^(exp10 - min exp10) × 2^(exp2 - min exp2)`, the integer this amount
    /// is at the finer of the two scales.
    fn scaled(&self, other: &Amount) -> Option<u128> {
        let e10 = u32::try_from(self.exp10 - self.exp10.min(other.exp10)).ok()?;
        let e2 = u32::try_from(self.exp2 - self.exp2.min(other.exp2)).ok()?;
        self.digits.checked_mul(10u128.checked_pow(e10)?)?.checked_mul(2u128.checked_pow(e2)?)
    }

    fn log10(&self) -> f64 {
        (self.digits as f64).log10() + f64::from(self.exp10) + f64::from(self.exp2) * std::f64::consts::LOG10_2
    }
}

/// Checks the quantities of `o`'s containers and claims.
pub fn check_quantities(o: &Object) -> Result<(), Error> {
    if let Some((spec, base)) = pod_spec(&o.value) {
        for (c, cpath) in containers(spec, &base) {
            check_resources(o, c.get("resources"), &cpath.key("resources"), true)?;
        }
    }
    if o.kind() == "PersistentVolumeClaim" {
        check_resources(o, o.value.ptr("/spec/resources"), &KeyPath::root().key("spec").key("resources"), false)?;
    }
    for (i, t) in items(o.value.ptr("/spec/volumeClaimTemplates")).iter().enumerate() {
        let at = KeyPath::root().key("spec").key("volumeClaimTemplates").index(i).key("spec").key("resources");
        check_resources(o, t.ptr("/spec/resources"), &at, false)?;
    }
    Ok(())
}

/// Checks `requests` and `limits` of a resources block: syntax, no negative amount, and
/// (for containers) request ≤ limit per resource.
fn check_resources(o: &Object, res: Option<&J>, at: &KeyPath, container: bool) -> Result<(), Error> {
    let Some(res) = res else { return Ok(()) };
    let mut parsed: [Vec<(&str, Amount)>; 2] = [Vec::new(), Vec::new()];
    for (slot, field) in ["requests", "limits"].iter().enumerate() {
        let Some(map) = res.get(*field).and_then(J::as_object) else { continue };
        for (name, v) in map {
            let here = at.key(field).key(name);
            let text = match v {
                J::String(s) => s.clone(),
                J::Number(n) => n.to_string(),
                _ => String::new(),
            };
            let Some(amount) = Amount::parse(&text) else {
                return Err(finding(o, &here, format!("`{text}` is not a Kubernetes quantity"))
                    .help("write a number with an optional suffix: `500m`, `2`, `512Mi`, `10Gi`, `1e3`"));
            };
            if amount.negative && amount.digits != 0 {
                return Err(finding(o, &here, format!("{field}.{name} `{text}` is negative")));
            }
            parsed[slot].push((name.as_str(), amount));
        }
    }
    if !container {
        return Ok(());
    }
    let [requests, limits] = &parsed;
    for (name, req) in requests {
        let Some((_, lim)) = limits.iter().find(|(n, _)| n == name) else { continue };
        if req.compare(lim) == Ordering::Greater {
            let show = |f: &str| res.ptr(&format!("/{f}/{name}")).map(J::to_string).unwrap_or_default();
            return Err(finding(
                o,
                &at.key("requests").key(name),
                format!("{name} request {} is above its limit {}", show("requests"), show("limits")),
            )
            .help("the API server refuses a request above the limit: raise the limit or lower the request"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use serde_json::json;

    fn q(s: &str) -> Amount {
        Amount::parse(s).unwrap_or_else(|| panic!("{s} parses"))
    }

    #[test]
    fn quantity_syntax() {
        for ok in ["1", "0.5", ".5", "500m", "2Gi", "1e3", "1E-2", "+1", "100Mi", "1.5Ti", "0"] {
            assert!(Amount::parse(ok).is_some(), "{ok}");
        }
        for bad in ["", "Gi", "1GB", "1.2.3", "1 Gi", "1gi", "ten", "1e", "1Gi1", "1e99999"] {
            assert!(Amount::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn amounts_compare_exactly() {
        assert_eq!(q("1Gi").compare(&q("1073741824")), Ordering::Equal);
        assert_eq!(q("100m").compare(&q("0.1")), Ordering::Equal);
        assert_eq!(q("1500m").compare(&q("2")), Ordering::Less);
        assert_eq!(q("1G").compare(&q("1Gi")), Ordering::Less);
        assert_eq!(q("1e3").compare(&q("1k")), Ordering::Equal);
        assert_eq!(q("1Ei").compare(&q("1n")), Ordering::Greater);
    }

    #[test]
    fn requests_within_limits_pass() {
        let d = deploy_with(json!({"name": "a", "resources": {
            "requests": {"cpu": "100m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1024Mi"}}}));
        assert!(check_quantities(&d).is_ok());
    }

    #[test]
    fn a_request_above_its_limit_is_found() {
        let d = deploy_with(json!({"name": "a", "resources": {
            "requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}}));
        let e = check_quantities(&d).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "c.k.spec.template.spec.containers[0].resources.requests.memory");
        assert!(e.to_string().contains(r#"memory request "2Gi" is above its limit "1Gi""#), "{e}");
    }

    #[test]
    fn a_bad_claim_size_is_found() {
        let pvc = obj(json!({"kind": "PersistentVolumeClaim", "metadata": {"name": "p"},
            "spec": {"resources": {"requests": {"storage": "10GB"}}}}));
        let e = check_quantities(&pvc).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "c.k.spec.resources.requests.storage");
    }
}
