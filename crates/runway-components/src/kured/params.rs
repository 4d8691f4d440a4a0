//! Parameters of kured and their validation.
//!
//! Validation runs at the start of `build`; every error names its key path
//! (`kured.start_time`) and says how to fix it, so a typo in the reboot window never
//! reaches a DaemonSet that would reboot nodes at the wrong hour.

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;

/// kured's image: release 1.21.0 (the kubereboot chart 5.11.0 ships it as its appVersion).
pub const DEFAULT_IMAGE: &str = "ghcr.io/kubereboot/kured:1.21.0";
/// kured's default lock annotation, kept so that an existing install's lock is honoured.
pub const DEFAULT_LOCK_ANNOTATION: &str = "weave.works/kured-node-lock";

/// How kured reboots a node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RebootMethod {
    /// Send systemd (PID 1, through the host's PID namespace) SIGRTMIN+5, its "reboot"
    /// signal: the container needs only CAP_KILL, not privileged (upstream's
    /// `kured-ds-signal.yaml`). Needs systemd on the nodes.
    #[default]
    Signal,
    /// Run `systemctl reboot` in the host's mount namespace (nsenter): a privileged
    /// container (upstream's `kured-ds.yaml`). Needed for `reboot_sentinel_command`.
    Command,
}

/// kured, the Kubernetes reboot daemon.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KuredParams {
    /// The image. Default: `ghcr.io/kubereboot/kured:1.21.0`.
    pub image: String,
    /// Namespace of the DaemonSet and its lock. Default: `kube-system` (see the module
    /// documentation for why).
    pub namespace: String,
    /// How nodes are rebooted: `signal` or `command`. Default: `signal`.
    pub reboot_method: RebootMethod,
    /// A command run on the host whose success means "reboot needed", instead of the
    /// sentinel file `/var/run/reboot-required` (Debian/Ubuntu's): on RHEL, CentOS or
    /// Rocky, `needs-restarting --reboothint` exits 1 when a reboot is needed, so use
    /// `sh -c "! needs-restarting --reboothint"`. Needs `reboot_method: command`.
    /// Default: `null`.
    pub reboot_sentinel_command: Option<String>,
    /// How often kured checks whether a reboot is needed. Default: `1h`.
    pub period: String,
    /// Days reboots may start on (`mon` … `sun`). Default: `[mon, tue, wed, thu, fri]`:
    /// the morning after a reboot someone is at work to look.
    pub reboot_days: Vec<String>,
    /// Start of the reboot window, `HH:MM` in `time_zone`. Default: `02:00`.
    pub start_time: String,
    /// End of the reboot window, `HH:MM` in `time_zone`. Default: `06:00`.
    pub end_time: String,
    /// The window's time zone: an IANA name (`Europe/Berlin`) or `UTC`. Default: `UTC`.
    pub time_zone: String,
    /// Nodes rebooting at once. Default: `1`.
    pub concurrency: u32,
    /// The annotation on kured's DaemonSet that holds the reboot lock.
    /// Default: `weave.works/kured-node-lock`.
    pub lock_annotation: String,
    /// How long a lock is held before it expires (a Go duration, `2h`); `null` never
    /// expires it, so a node that dies while holding it stops further reboots until an
    /// operator looks. Default: `null`.
    pub lock_ttl: Option<String>,
    /// How long the drain may take (a Go duration); when it times out the node is
    /// uncordoned and not rebooted, and kured tries again next period, so a
    /// PodDisruptionBudget that forbids the eviction is respected. `0` waits forever.
    /// Default: `30m`.
    pub drain_timeout: String,
    /// Seconds given to each evicted pod to terminate; `-1` uses the pod's own
    /// `terminationGracePeriodSeconds`. Default: `-1`.
    pub drain_grace_period: i64,
    /// Stop waiting for pods whose deletion began more than this many seconds ago (pods
    /// stuck on a finalizer of an unreachable node); `0` always waits. Default: `300`.
    pub skip_wait_for_delete_timeout: u32,
    /// Reboot even when the drain fails or times out, ignoring disruption budgets.
    /// Default: `false`.
    pub force_reboot: bool,
    /// Hold reboots while any alert fires in the rendered Prometheus (other than those
    /// `alert_filter_regexp` matches): a cluster already in trouble is not made worse.
    /// Default: `true` (no effect when `prometheus` is not rendered).
    pub block_on_alerts: bool,
    /// Alerts that never hold reboots. Default: `^RebootRequired$`.
    pub alert_filter_regexp: String,
    /// Requests and limits. Default: requests `cpu: 10m, memory: 32Mi`, limits
    /// `memory: 128Mi`.
    pub resources: Resources,
}

impl Default for KuredParams {
    fn default() -> Self {
        KuredParams {
            image: DEFAULT_IMAGE.into(),
            namespace: "kube-system".into(),
            reboot_method: RebootMethod::Signal,
            reboot_sentinel_command: None,
            period: "1h".into(),
            reboot_days: ["mon", "tue", "wed", "thu", "fri"].map(String::from).to_vec(),
            start_time: "02:00".into(),
            end_time: "06:00".into(),
            time_zone: "UTC".into(),
            concurrency: 1,
            lock_annotation: DEFAULT_LOCK_ANNOTATION.into(),
            lock_ttl: None,
            drain_timeout: "30m".into(),
            drain_grace_period: -1,
            skip_wait_for_delete_timeout: 300,
            force_reboot: false,
            block_on_alerts: true,
            alert_filter_regexp: "^RebootRequired$".into(),
            resources: Resources::new("10m", "32Mi", None, "128Mi"),
        }
    }
}

/// `kured.<key>`.
fn at(key: &str) -> KeyPath {
    KeyPath::root().key("kured").key(key)
}

/// The day names kured accepts (Go's `time.Weekday`, short and long, as its `--reboot-days`).
const DAYS: &[&str] = &[
    "su",
    "mo",
    "tu",
    "we",
    "th",
    "fr",
    "sa",
    "sun",
    "mon",
    "tue",
    "wed",
    "thu",
    "fri",
    "sat",
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

/// `H:MM`, `HH:MM` or `HH:MM:SS` within a day, as kured's `--start-time`/`--end-time`.
pub(crate) fn is_time_of_day(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    let num = |p: &str, max: u32, width: std::ops::RangeInclusive<usize>| {
        width.contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()) && p.parse::<u32>().is_ok_and(|n| n <= max)
    };
    match parts.as_slice() {
        [h, m] => num(h, 23, 1..=2) && num(m, 59, 2..=2),
        [h, m, sec] => num(h, 23, 1..=2) && num(m, 59, 2..=2) && num(sec, 59, 2..=2),
        _ => false,
    }
}

/// A Go duration (`90s`, `1h30m`, `0`), as kured's flags parse them.
pub(crate) fn is_go_duration(s: &str) -> bool {
    if s == "0" {
        return true;
    }
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.').len();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let unit =
            ["ns", "us", "µs", "ms", "s", "m", "h"].iter().filter(|u| rest.starts_with(**u)).max_by_key(|u| u.len());
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

impl KuredParams {
    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        crate::images::check_image(&self.image, DEFAULT_IMAGE, at("image"))?;
        if !runway_core::names::is_dns_label(&self.namespace) {
            return Err(Error::invalid(format!("`{}` is not a namespace name", self.namespace))
                .help("use `kube-system` (upstream's) or the runtime's namespace")
                .with_path(at("namespace")));
        }
        if self.reboot_sentinel_command.is_some() && self.reboot_method != RebootMethod::Command {
            return Err(Error::invalid("`reboot_sentinel_command` runs on the host, which needs `reboot_method: command`")
                .help("set `reboot_method: command` (a privileged pod), or drop the command and rely on /var/run/reboot-required")
                .with_path(at("reboot_sentinel_command")));
        }
        if self.reboot_sentinel_command.as_deref().is_some_and(|c| c.trim().is_empty()) {
            return Err(Error::invalid("the sentinel command is empty")
                .help("give a command whose success means a reboot is needed, or `null`")
                .with_path(at("reboot_sentinel_command")));
        }
        for (key, value) in [("period", &self.period), ("drain_timeout", &self.drain_timeout)] {
            if !is_go_duration(value) {
                return Err(Error::invalid(format!("`{value}` is not a duration"))
                    .help("write a Go duration such as `1h`, `30m` or `90s`")
                    .with_path(at(key)));
            }
        }
        if self.period == "0" {
            return Err(Error::invalid("a period of `0` would check for reboots in a busy loop")
                .help("use `1h` (upstream's default)")
                .with_path(at("period")));
        }
        if let Some(ttl) = &self.lock_ttl {
            if !is_go_duration(ttl) {
                return Err(Error::invalid(format!("`{ttl}` is not a duration"))
                    .help("write a Go duration such as `2h`, or `null` for a lock that never expires")
                    .with_path(at("lock_ttl")));
            }
        }
        if self.reboot_days.is_empty() {
            return Err(Error::invalid("no reboot day: kured would never reboot a node")
                .help("list days such as `[mon, tue, wed, thu, fri]`, or leave kured out of the stack")
                .with_path(at("reboot_days")));
        }
        for (i, day) in self.reboot_days.iter().enumerate() {
            if !DAYS.contains(&day.to_lowercase().as_str()) {
                return Err(Error::invalid(format!("`{day}` is not a day of the week"))
                    .help("write `mon`, `tue`, `wed`, `thu`, `fri`, `sat` or `sun`")
                    .with_path(at("reboot_days").index(i)));
            }
        }
        for (key, value) in [("start_time", &self.start_time), ("end_time", &self.end_time)] {
            if !is_time_of_day(value) {
                return Err(Error::invalid(format!("`{value}` is not a time of day"))
                    .help("write `HH:MM` in `time_zone`, e.g. `02:00`")
                    .with_path(at(key)));
            }
        }
        if self.start_time == self.end_time {
            return Err(Error::invalid(format!("the reboot window {} to {} is empty", self.start_time, self.end_time))
                .help("give an end time after the start (a window may span midnight, e.g. `22:00` to `04:00`)")
                .with_path(at("end_time")));
        }
        let tz_ok = !self.time_zone.is_empty()
            && self.time_zone.split('/').all(|part| {
                !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
            });
        if !tz_ok {
            return Err(Error::invalid(format!("`{}` is not a time zone name", self.time_zone))
                .help("write an IANA time zone such as `Europe/Berlin`, or `UTC`")
                .with_path(at("time_zone")));
        }
        if self.concurrency == 0 {
            return Err(Error::invalid("a concurrency of 0 would never reboot a node")
                .help("use `1`: one node at a time")
                .with_path(at("concurrency")));
        }
        if !runway_core::names::is_qualified_name(&self.lock_annotation) {
            return Err(Error::invalid(format!("`{}` is not an annotation key", self.lock_annotation))
                .help(format!("write `prefix/name`, e.g. `{DEFAULT_LOCK_ANNOTATION}`"))
                .with_path(at("lock_annotation")));
        }
        if self.drain_grace_period < -1 {
            return Err(Error::invalid(format!("drain_grace_period `{}` is out of range", self.drain_grace_period))
                .help("use `-1` (each pod's own grace period) or a number of seconds")
                .with_path(at("drain_grace_period")));
        }
        self.resources.check().map_err(|msg| {
            Error::invalid(msg).help("raise the limit or lower the request").with_path(at("resources"))
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_follow_kureds_format() {
        for ok in ["0:00", "02:00", "23:59", "23:59:59", "9:30"] {
            assert!(is_time_of_day(ok), "{ok}");
        }
        for bad in ["24:00", "2", "02:60", "2:5", "02:00:60", "two", "02:00 PM", ""] {
            assert!(!is_time_of_day(bad), "{bad}");
        }
    }

    #[test]
    fn durations_follow_go_syntax() {
        for ok in ["0", "1h", "30m", "90s", "1h30m", "1.5h", "500ms"] {
            assert!(is_go_duration(ok), "{ok}");
        }
        for bad in ["", "1", "h", "1d", "30 m", "-1h"] {
            assert!(!is_go_duration(bad), "{bad}");
        }
    }
}
