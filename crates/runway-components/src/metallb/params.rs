//! Parameters of MetalLB and their validation.
//!
//! Validation runs at the start of `build`; every error names its key path
//! (`metallb.load_balancer_addresses[1]`) and the entry at fault.

use std::net::IpAddr;

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;

/// The controller image (MetalLB's v0.14.9 release).
pub const DEFAULT_CONTROLLER_IMAGE: &str = "quay.io/metallb/controller:v0.14.9";
/// The speaker image (the same release).
pub const DEFAULT_SPEAKER_IMAGE: &str = "quay.io/metallb/speaker:v0.14.9";

/// MetalLB: LoadBalancer Services on bare metal, announced on the nodes' network (layer 2).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MetallbParams {
    /// The namespace MetalLB runs in: the speaker is on the host network with NET_RAW, so
    /// its namespace needs the `privileged` Pod Security level, which the runtime's own
    /// namespace should not get. Default: `metallb-system` (upstream's).
    pub namespace: String,
    /// The addresses MetalLB hands to LoadBalancer Services: CIDRs (`192.168.10.0/24`,
    /// `fd00::/120`) or ranges (`192.168.10.240-192.168.10.250`). They become one
    /// IPAddressPool (`pool_name`) announced by one L2Advertisement; empty renders neither
    /// (MetalLB then assigns nothing until a pool is created). Default: `[]`.
    pub load_balancer_addresses: Vec<String>,
    /// The IPAddressPool's name; the onprem platform's `load_balancer_annotations` ask for
    /// `default`. Default: `default`.
    pub pool_name: String,
    /// Whether the pool's addresses are assigned to any LoadBalancer Service (`false`:
    /// only to Services that ask for the pool). Default: `true`.
    pub auto_assign: bool,
    /// The log level of both (`all`, `debug`, `info`, `warn`, `error`, `none`). Default: `info`.
    pub log_level: String,
    /// The controller image. Default: `quay.io/metallb/controller:v0.14.9`.
    pub controller_image: String,
    /// The speaker image. Default: `quay.io/metallb/speaker:v0.14.9`.
    pub speaker_image: String,
    /// The controller's requests and limits. Default: requests `cpu: 10m, memory: 64Mi`,
    /// limits `memory: 128Mi`.
    pub controller_resources: Resources,
    /// Each speaker's requests and limits. Default: requests `cpu: 10m, memory: 64Mi`,
    /// limits `memory: 128Mi`.
    pub speaker_resources: Resources,
}

impl Default for MetallbParams {
    fn default() -> Self {
        MetallbParams {
            namespace: "metallb-system".into(),
            load_balancer_addresses: Vec::new(),
            pool_name: "default".into(),
            auto_assign: true,
            log_level: "info".into(),
            controller_image: DEFAULT_CONTROLLER_IMAGE.into(),
            speaker_image: DEFAULT_SPEAKER_IMAGE.into(),
            controller_resources: Resources::new("10m", "64Mi", None, "128Mi"),
            speaker_resources: Resources::new("10m", "64Mi", None, "128Mi"),
        }
    }
}

/// `metallb.<key>`.
pub(crate) fn at(key: &str) -> KeyPath {
    KeyPath::root().key("metallb").key(key)
}

const LOG_LEVELS: &[&str] = &["all", "debug", "info", "warn", "error", "none"];

impl MetallbParams {
    /// Checks every parameter; the first error names its key.
    pub fn validate(&self) -> Result<(), Error> {
        for (key, image, default) in [
            ("controller_image", &self.controller_image, DEFAULT_CONTROLLER_IMAGE),
            ("speaker_image", &self.speaker_image, DEFAULT_SPEAKER_IMAGE),
        ] {
            crate::images::check_image(image, default, at(key))?;
        }
        for (key, r) in
            [("controller_resources", &self.controller_resources), ("speaker_resources", &self.speaker_resources)]
        {
            r.check()
                .map_err(|msg| Error::invalid(msg).help("raise the limit or lower the request").with_path(at(key)))?;
        }
        if !LOG_LEVELS.contains(&self.log_level.as_str()) {
            return Err(Error::invalid(format!("`{}` is not a MetalLB log level", self.log_level))
                .help(format!("use one of {}", LOG_LEVELS.join(", ")))
                .with_path(at("log_level")));
        }
        for (key, name) in [("namespace", &self.namespace), ("pool_name", &self.pool_name)] {
            if !is_dns_label(name) {
                return Err(Error::invalid(format!("`{name}` is not a valid name"))
                    .help("use lower-case letters, digits and `-`, at most 63 characters")
                    .with_path(at(key)));
            }
        }
        for (i, entry) in self.load_balancer_addresses.iter().enumerate() {
            check_address(entry).map_err(|why| {
                Error::invalid(format!("`{entry}` is not an address range: {why}"))
                    .help("write a CIDR (`192.168.10.0/24`) or a range (`192.168.10.240-192.168.10.250`)")
                    .with_path(at("load_balancer_addresses").index(i))
            })?;
        }
        Ok(())
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn ip(s: &str) -> Result<IpAddr, String> {
    s.parse::<IpAddr>().map_err(|_| format!("`{s}` is not an IP address"))
}

/// Checks one entry as MetalLB reads it: `ADDRESS/PREFIX` or `START-END` of one family,
/// START not after END.
pub fn check_address(entry: &str) -> Result<(), String> {
    if let Some((addr, prefix)) = entry.split_once('/') {
        let addr = ip(addr)?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        match prefix.parse::<u8>() {
            Ok(n) if n <= max => Ok(()),
            _ => Err(format!("the prefix length `{prefix}` is not between 0 and {max}")),
        }
    } else if let Some((start, end)) = entry.split_once('-') {
        let (start, end) = (ip(start.trim())?, ip(end.trim())?);
        match (start, end) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) if start <= end => Ok(()),
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                Err(format!("the range starts at {start}, after its end {end}"))
            }
            _ => Err("the range mixes IPv4 and IPv6".into()),
        }
    } else {
        Err("it is neither a CIDR nor a range".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_and_ranges_of_both_families_are_accepted() {
        for ok in [
            "192.168.10.0/24",
            "10.0.0.5/32",
            "fd00::/120",
            "192.168.10.240-192.168.10.250",
            "10.0.0.1 - 10.0.0.1",
            "fd00::1-fd00::9",
        ] {
            assert_eq!(check_address(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        for (bad, why) in [
            ("192.168.10.0/33", "prefix length `33`"),
            ("192.168.300.0/24", "not an IP address"),
            ("10.0.0.9-10.0.0.1", "after its end"),
            ("10.0.0.1-fd00::1", "mixes IPv4 and IPv6"),
            ("10.0.0.1", "neither a CIDR nor a range"),
        ] {
            let e = check_address(bad).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
