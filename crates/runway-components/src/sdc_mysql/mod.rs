//! MySQL for the Sysdig backend (sdc-kubernetes' `datastores/sdc-mysql-master.yaml` and
//! `sdc-mysql-slaves.yaml`): a master that takes writes and replicas for read traffic,
//! with the clone-from-peer and replication wiring the original left half done.
//!
//! # What it renders
//!
//! - StatefulSet `sdc-mysql` (one pod, the master) and its headless Service `sdc-mysql`
//!   (3306, read-write): the backend's `mysql.endpoint`.
//! - StatefulSet `sdc-mysql-slave` (`replicas`, 2 by default as the original's slaves)
//!   and its headless Service `sdc-mysql-slave` (3306): read-only traffic, ready replicas
//!   only. A PodDisruptionBudget lets one replica go at a time.
//! - ConfigMaps `sysdigcloud-mysql-config` (master.cnf) and
//!   `sysdigcloud-mysql-config-slave` (slave.cnf), both rendered from `templates/my.cnf.j2`,
//!   with the scripts below; no password is in either.
//! - The Secret `sdc-mysql` (keys `mysql-root-password`, `mysql-password`,
//!   `mysql-replication-password`) when the `sdc:` block of the secrets file gives them;
//!   otherwise it is declared external and must exist in `sysdigcloud`. Containers read
//!   the passwords through `secretKeyRef`; the scripts hand them to the MySQL client in an
//!   option file that only exists as a pipe, never on a command line.
//!
//! # Replication, and how it is fixed
//!
//! The original cloned replicas with xtrabackup 2.4 over ncat and then ran `CHANGE MASTER
//! TO` as root, with the root password in the ConfigMap and on command lines and, on gke,
//! a comma missing from the statement; the "skip the clone if data exists" guard was
//! commented out, so every restart streamed a new backup over live data, and on gke the
//! clone ran without `set -e`, so a broken stream went on to `--prepare` as if it had
//! worked. The replication user it declared was never created. Here:
//!
//! - A dedicated replication user (`replication_user`, default `repluser`, never root)
//!   with `REPLICATION SLAVE` and `BACKUP_ADMIN` only is created on the master by
//!   `replication-user.sh`: the image's entrypoint runs it from `/docker-entrypoint-initdb.d`
//!   when it initializes the data directory, and the master's init container runs it at
//!   every later start (through a temporary mysqld without networking), so an adopted data
//!   directory gets the user and a changed password takes effect.
//! - Cloning uses MySQL 8's CLONE plugin (shipped in the official image, loaded by both
//!   option files), chosen over xtrabackup because it needs no second image that must
//!   match the server's version exactly, no ncat sidecar, and it copies the GTID state
//!   with the data. `clone.sh` (init container `clone-mysql`) skips the clone when the
//!   data directory exists; otherwise it clones from the previous replica (the tutorial's
//!   clone-from-peer) or the master, into a staging directory that is moved into place
//!   only when complete, and tries again every 10 seconds until an attempt succeeds.
//! - At every start the replica runs `CHANGE REPLICATION SOURCE TO` (MySQL 8.4's name
//!   for `CHANGE MASTER TO`) with `SOURCE_AUTO_POSITION = 1` (GTIDs: no binary log
//!   positions to copy around), the replication user, TLS, and retries; MySQL then
//!   replicates on its own, restarts included.
//! - The server-id comes from the pod's ordinal (master 100, replica N 200 + N, as the
//!   original); replicas run `read_only` and `super_read_only`.
//!
//! # Adopting sdc-kubernetes' MySQL
//!
//! Names, labels (`app: sysdigcloud`, `role: mysql` / `mysql-slave`), the Services, the
//! ConfigMaps and the claim template `data` are the original's, so the PVCs
//! `data-sdc-mysql-0` and `data-sdc-mysql-slave-N` are used again; the data directory is
//! the volume's `mysql` directory, where the original's `subPath: mysql` put it (the
//! volume is mounted whole, because a `subPath` directory that the kubelet creates is
//! owned by root and a non-root MySQL could not initialize it). Three things cannot be
//! adopted in place:
//! - The claim template's storage class changes (the original's `gce-pd` or
//!   `aws-gp2-multi-az`; set `storage_class` to keep it), and claim templates are
//!   immutable: delete both StatefulSets with `kubectl delete sts --cascade=orphan` before
//!   applying; the pods and their claims stay.
//! - MySQL does not upgrade 5.7 data to 8.4 in one step: run the master once with
//!   `image: mysql:8.0.x` (which upgrades 5.7 data) before 8.4.
//! - The original's replicas replicated by binary log position as root and never had
//!   GTIDs: delete their claims (`data-sdc-mysql-slave-N`) and they clone afresh.
//!
//! Passwords in the Secret are only applied by the image when it initializes a data
//! directory (the replication user's excepted, see above): to change the root or the
//! backend's password, `ALTER USER` first, then change the Secret.
//!
//! # Security
//!
//! Every container runs as `mysql` (uid 999) with a read-only root filesystem, all
//! capabilities dropped, no privilege escalation and the RuntimeDefault seccomp profile;
//! MySQL writes only to its volume, `/var/run/mysqld`, `/etc/mysql/conf.d` and `/tmp`
//! (emptyDirs). No API token is mounted. `root` is created for `localhost` and
//! `127.0.0.1` only (`MYSQL_ROOT_HOST`): the pods' own probes and scripts use it, no
//! client elsewhere does.

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    Affinity, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EnvVar, EnvVarSource, ExecAction, KeyToPath,
    ObjectFieldSelector, PodSpec, Probe, Secret, Service, TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use runway_core::refs::ExternalRef;
use runway_core::{Error, Object};
use serde::Serialize;

pub use self::params::{given_secret, SdcMysqlParams, DEFAULT_IMAGE, SECRETS_COMPONENT, SECRET_KEYS};
use crate::common::env::{self, value_env};
use crate::common::meta;
use crate::common::pdb::{self, Budget};
use crate::common::pod::empty_dir;
use crate::common::pod::{container_security, pod_security, Resources};
use crate::common::pod::{mount, read_only_mount};
use crate::common::service::{tcp_port, PodService, ServiceKind};
use crate::common::template::render_template;
use crate::component::{Component, ObjectDoc};
use crate::context::Context;
use crate::sdc;
use crate::sdc::{Checksums, DatastoreSet};

/// The master's StatefulSet and headless Service (read-write).
pub const MASTER: &str = sdc::services::MYSQL;
/// The replicas' StatefulSet, headless Service (read-only) and PodDisruptionBudget.
pub const REPLICA: &str = sdc::services::MYSQL_READ;
/// The master's ConfigMap (the original's): master.cnf and its scripts.
pub const MASTER_CONFIG: &str = "sysdigcloud-mysql-config";
/// The replicas' ConfigMap (the original's): slave.cnf and their scripts.
pub const REPLICA_CONFIG: &str = "sysdigcloud-mysql-config-slave";
/// The `role` label of the master's objects and pods.
pub const MASTER_ROLE: &str = "mysql";
/// The `role` label of the replicas' objects and pods.
pub const REPLICA_ROLE: &str = "mysql-slave";
/// MySQL's port.
pub const PORT: i32 = sdc::services::MYSQL_PORT as i32;
/// The master's server-id (the original's).
pub const MASTER_SERVER_ID: u32 = 100;
/// Replica N's server-id is this plus N (the original's).
pub const REPLICA_SERVER_ID_BASE: u32 = 200;

/// uid and gid of `mysql` in the official image.
const MYSQL_UID: i64 = 999;
/// Where the volume is mounted (whole; see the module's adoption notes).
const VOLUME_DIR: &str = "/var/lib/mysql";
/// The data directory: the volume's `mysql` directory, where the original put it.
const DATADIR: &str = "/var/lib/mysql/mysql";
/// Where a replica's clone is staged until it is complete (same volume: moved, not copied).
const STAGING_DIR: &str = "/var/lib/mysql/clone-staging";
/// Where the ConfigMap (option file and scripts) is mounted.
const CONFIG_DIR: &str = "/etc/mysql/runway";
const CONF_D: &str = "/etc/mysql/conf.d";
const RUN_DIR: &str = "/var/run/mysqld";
const INITDB_DIR: &str = "/docker-entrypoint-initdb.d";
/// The master's binary log name (the original's `log-bin`).
const LOG_BIN: &str = "sysdigcloud-mysql-0-bin";
const CONTAINER: &str = "mysql";
const SCRIPT_MODE: i32 = 0o555;

const MY_CNF_TEMPLATE: &str = include_str!("templates/my.cnf.j2");
const LIB_TEMPLATE: &str = include_str!("templates/lib.sh.j2");
const INIT_MASTER_TEMPLATE: &str = include_str!("templates/init-master.sh.j2");
const REPLICATION_USER_TEMPLATE: &str = include_str!("templates/replication-user.sh.j2");
const INIT_REPLICA_TEMPLATE: &str = include_str!("templates/init-replica.sh.j2");
const CLONE_TEMPLATE: &str = include_str!("templates/clone.sh.j2");
const READY_TEMPLATE: &str = include_str!("templates/ready.sh.j2");

/// The Sysdig backend's MySQL component.
pub struct SdcMysql;

impl Component for SdcMysql {
    const NAME: &'static str = "sdc_mysql";
    const SUMMARY: &'static str =
        "MySQL 8.4 for the Sysdig backend: master sdc-mysql, replicas sdc-mysql-slave cloned and replicating by GTID";
    const DEFAULT_ENABLED: bool = false;
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc {
            key: "secret",
            kind: "Secret",
            doc: "`sdc-mysql`: root, backend and replication passwords (only from `--secrets-file`; else external)",
        },
        ObjectDoc {
            key: "config",
            kind: "ConfigMap",
            doc: "`sysdigcloud-mysql-config`: master.cnf and the master's scripts (no password)",
        },
        ObjectDoc {
            key: "slaveConfig",
            kind: "ConfigMap",
            doc: "`sysdigcloud-mysql-config-slave`: slave.cnf and the replicas' scripts (no password)",
        },
        ObjectDoc { key: "svc", kind: "Service", doc: "`sdc-mysql`: headless, the master (read-write), 3306" },
        ObjectDoc {
            key: "slaveSvc",
            kind: "Service",
            doc: "`sdc-mysql-slave`: headless, ready replicas (read-only traffic), 3306",
        },
        ObjectDoc { key: "sts", kind: "StatefulSet", doc: "`sdc-mysql`: the master, one pod" },
        ObjectDoc {
            key: "slaveSts",
            kind: "StatefulSet",
            doc: "`sdc-mysql-slave`: the replicas, each cloned from a peer or the master",
        },
        ObjectDoc {
            key: "slaveDisruptionBudget",
            kind: "PodDisruptionBudget",
            doc: "`sdc-mysql-slave`: one replica down at a time",
        },
        ObjectDoc {
            key: "networkPolicy",
            kind: "NetworkPolicy",
            doc: "`sdc-mysql`: SQL from the backend and the replicas",
        },
        ObjectDoc {
            key: "slaveNetworkPolicy",
            kind: "NetworkPolicy",
            doc: "`sdc-mysql-slave`: replication and clone from the master and peers",
        },
    ];
    type Params = SdcMysqlParams;

    fn externals(_: &SdcMysqlParams, cx: &Context) -> Vec<ExternalRef> {
        let ns = namespace(cx);
        match given_secret(cx.secrets_of(SECRETS_COMPONENT)) {
            Ok(Some(_)) => Vec::new(),
            // Incomplete values are an error of `build`; until then the Secret is expected.
            _ => vec![("Secret".to_string(), ns.to_string(), sdc::secrets::MYSQL.to_string())],
        }
    }

    fn network(_: &SdcMysqlParams, _: &Context) -> Vec<crate::network::Flows> {
        use crate::network::Flows;
        vec![
            Flows::new("sts", "networkPolicy"),
            // Replication and the clone plugin both speak the MySQL protocol on 3306.
            Flows::new("slaveSts", "slaveNetworkPolicy").to_local(MASTER, PORT).to_local(REPLICA, PORT),
        ]
    }

    fn waivers(_: &SdcMysqlParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        vec![
            Waiver::new("sts", Check::HighUid, "the mysql image's data and socket directories belong to uid 999"),
            Waiver::new("sts", Check::SecretsAsEnv, "the mysql entrypoint reads the root and user passwords from the environment when it initialises the data"),
            Waiver::new("slaveSts", Check::HighUid, "the mysql image's data and socket directories belong to uid 999"),
            Waiver::new("slaveSts", Check::SecretsAsEnv, "the mysql entrypoint reads the root and user passwords from the environment when it initialises the data"),
        ]
    }

    fn build(p: &SdcMysqlParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let secret_values = given_secret(cx.secrets_of(SECRETS_COMPONENT))?;
        let ns = namespace(cx);
        let master_data = master_config_data(p, ns)?;
        let replica_data = replica_config_data(p, ns)?;
        let secret_checksum = secret_values.as_ref().map(sdc::data_checksum);
        let master_sums = Checksums { config: sdc::data_checksum(&master_data), secret: secret_checksum.clone() };
        let replica_sums = Checksums { config: sdc::data_checksum(&replica_data), secret: secret_checksum };

        let n = Self::NAME;
        let mut objects = Vec::new();
        if let Some(values) = &secret_values {
            objects.push(Object::new(n, "secret", &secret(values, ns)));
        }
        objects.extend([
            Object::new(n, "config", &config_map(MASTER_CONFIG, MASTER_ROLE, ns, master_data)),
            Object::new(n, "slaveConfig", &config_map(REPLICA_CONFIG, REPLICA_ROLE, ns, replica_data)),
            Object::new(n, "svc", &headless_service(MASTER, MASTER_ROLE, ns)),
            Object::new(n, "slaveSvc", &headless_service(REPLICA, REPLICA_ROLE, ns)),
            Object::new(n, "sts", &master_stateful_set(p, cx, &master_sums)),
            Object::new(n, "slaveSts", &replica_stateful_set(p, cx, &replica_sums)),
            Object::new(n, "slaveDisruptionBudget", &replica_disruption_budget(ns)),
        ]);
        Ok(objects)
    }
}

/// True for a DNS name of lowercase labels (`sysdigcloud-standard`, `gce-pd`).
pub(crate) fn is_dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// The namespace: `sysdigcloud` (the Sysdig backend's), unless `config.namespaces`
/// names one for `sdc_mysql` (MySQL on its own, as in examples/observability; the
/// backend's `mysql.endpoint` then must name that namespace).
pub fn namespace(cx: &Context) -> &str {
    cx.config.namespaces.get(SdcMysql::NAME).map_or(sdc::NAMESPACE, String::as_str)
}

/// The master's DNS name in namespace `ns`, which replicas replicate from.
pub fn master_host(ns: &str) -> String {
    format!("{MASTER}-0.{MASTER}.{ns}.svc")
}

#[derive(Serialize)]
struct CnfContext<'a> {
    file: &'a str,
    name: &'a str,
    config_map: &'a str,
    secret: &'a str,
    replica: bool,
    datadir: &'a str,
    port: i32,
    character_set: &'a str,
    collation: &'a str,
    buffer_pool_mib: u64,
    log_bin: &'a str,
    binlog_expire_seconds: u64,
    native_password: bool,
}

fn render_cnf(p: &SdcMysqlParams, replica: bool) -> Result<String, Error> {
    let (file, name, config_map) =
        if replica { ("slave.cnf", REPLICA, REPLICA_CONFIG) } else { ("master.cnf", MASTER, MASTER_CONFIG) };
    render_template(
        "my.cnf.j2",
        MY_CNF_TEMPLATE,
        CnfContext {
            file,
            name,
            config_map,
            secret: sdc::secrets::MYSQL,
            replica,
            datadir: DATADIR,
            port: PORT,
            character_set: &p.character_set,
            collation: &p.collation,
            buffer_pool_mib: p.buffer_pool_mib(),
            log_bin: LOG_BIN,
            binlog_expire_seconds: u64::from(p.binlog_expire_days) * 86_400,
            native_password: p.native_password,
        },
    )
}

/// What the scripts' templates see.
fn script_context(p: &SdcMysqlParams, replica: bool, ns: &str) -> serde_json::Value {
    let (name, service) = if replica { (REPLICA, REPLICA) } else { (MASTER, MASTER) };
    serde_json::json!({
        "name": name,
        "service": service,
        "namespace": ns,
        "secret": sdc::secrets::MYSQL,
        "datadir": DATADIR,
        "config_dir": CONFIG_DIR,
        "staging": STAGING_DIR,
        "port": PORT,
        "replica": replica,
        "replication_user": p.replication_user,
        "master_host": master_host(ns),
        "server_id": MASTER_SERVER_ID,
        "server_id_base": REPLICA_SERVER_ID_BASE,
    })
}

fn render_scripts(
    p: &SdcMysqlParams,
    replica: bool,
    ns: &str,
    scripts: &[(&str, &str)],
) -> Result<BTreeMap<String, String>, Error> {
    let cx = script_context(p, replica, ns);
    let mut out = BTreeMap::new();
    for (file, template) in scripts {
        out.insert((*file).to_string(), render_template(&format!("{file}.j2"), template, &cx)?);
    }
    Ok(out)
}

/// `sysdigcloud-mysql-config`: master.cnf, lib.sh, init-master.sh, replication-user.sh, ready.sh.
fn master_config_data(p: &SdcMysqlParams, ns: &str) -> Result<BTreeMap<String, String>, Error> {
    let mut data = render_scripts(
        p,
        false,
        ns,
        &[
            ("lib.sh", LIB_TEMPLATE),
            ("init-master.sh", INIT_MASTER_TEMPLATE),
            ("replication-user.sh", REPLICATION_USER_TEMPLATE),
            ("ready.sh", READY_TEMPLATE),
        ],
    )?;
    data.insert("master.cnf".into(), render_cnf(p, false)?);
    Ok(data)
}

/// `sysdigcloud-mysql-config-slave`: slave.cnf, lib.sh, init-replica.sh, clone.sh, ready.sh.
fn replica_config_data(p: &SdcMysqlParams, ns: &str) -> Result<BTreeMap<String, String>, Error> {
    let mut data = render_scripts(
        p,
        true,
        ns,
        &[
            ("lib.sh", LIB_TEMPLATE),
            ("init-replica.sh", INIT_REPLICA_TEMPLATE),
            ("clone.sh", CLONE_TEMPLATE),
            ("ready.sh", READY_TEMPLATE),
        ],
    )?;
    data.insert("slave.cnf".into(), render_cnf(p, true)?);
    Ok(data)
}

fn metadata(name: &str, role: &str, ns: &str) -> ObjectMeta {
    meta::namespaced(name, ns, sdc::labels(role))
}

fn secret(values: &BTreeMap<String, String>, ns: &str) -> Secret {
    Secret {
        metadata: metadata(sdc::secrets::MYSQL, MASTER_ROLE, ns),
        type_: Some("Opaque".into()),
        data: Some(values.iter().map(|(k, v)| (k.clone(), ByteString(v.as_bytes().to_vec()))).collect()),
        ..Default::default()
    }
}

fn config_map(name: &str, role: &str, ns: &str, data: BTreeMap<String, String>) -> ConfigMap {
    ConfigMap { metadata: metadata(name, role, ns), data: Some(data), ..Default::default() }
}

/// A headless Service (the original's, and the StatefulSet's `serviceName`), port `sql`.
/// Only ready pods are listed: a replica that has not cloned yet takes no reads.
fn headless_service(name: &str, role: &str, ns: &str) -> Service {
    PodService {
        kind: ServiceKind::Headless,
        selector: sdc::selector_labels(role),
        ports: vec![tcp_port("sql", PORT, CONTAINER)],
    }
    .build(metadata(name, role, ns))
}

fn replica_disruption_budget(ns: &str) -> PodDisruptionBudget {
    pdb::disruption_budget(metadata(REPLICA, REPLICA_ROLE, ns), Budget::MaxUnavailable(1), sdc::selector(REPLICA_ROLE))
}

/// `name` from the key `key` of the Secret `sdc-mysql`.
fn secret_env(name: &str, key: &str) -> EnvVar {
    env::secret_env(name, sdc::secrets::MYSQL, key)
}

fn pod_name_env() -> EnvVar {
    EnvVar {
        name: "POD_NAME".into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector { api_version: Some("v1".into()), field_path: "metadata.name".into() }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn root_password_env() -> EnvVar {
    secret_env("MYSQL_ROOT_PASSWORD", sdc::secrets::MYSQL_ROOT_PASSWORD)
}

fn replication_password_env() -> EnvVar {
    secret_env("MYSQL_REPLICATION_PASSWORD", sdc::secrets::MYSQL_REPLICATION_PASSWORD)
}

/// What every MySQL container mounts: the volume, the option files, the socket directory,
/// `/tmp` and the ConfigMap.
fn mysql_mounts() -> Vec<VolumeMount> {
    vec![
        mount("data", VOLUME_DIR),
        mount("conf", CONF_D),
        mount("run", RUN_DIR),
        mount("tmp", "/tmp"),
        read_only_mount("config", CONFIG_DIR),
    ]
}

fn config_map_volume(name: &str, config_map: &str, items: Option<&[&str]>) -> Volume {
    Volume {
        name: name.into(),
        config_map: Some(ConfigMapVolumeSource {
            name: config_map.into(),
            default_mode: Some(SCRIPT_MODE),
            items: items.map(|keys| {
                keys.iter()
                    .map(|k| KeyToPath { key: (*k).into(), path: (*k).into(), mode: Some(SCRIPT_MODE) })
                    .collect()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn exec_probe(command: &[&str], period: i32, failures: i32) -> Probe {
    Probe {
        exec: Some(ExecAction { command: Some(command.iter().map(|s| (*s).to_string()).collect()) }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        ..Default::default()
    }
}

/// The container `mysql`: the image's entrypoint and mysqld. `mysqladmin ping` keeps it
/// alive (it answers even before authentication, so it needs no password); readiness
/// runs a query over TCP (`ready.sh`), on a replica also checking that it replicates.
fn mysql_container(p: &SdcMysqlParams, resources: &Resources, env: Vec<EnvVar>) -> Container {
    let ping = ["mysqladmin", "--protocol=socket", "ping"];
    let ready = format!("{CONFIG_DIR}/ready.sh");
    Container {
        name: CONTAINER.into(),
        image: Some(p.image.clone()),
        env: Some(env),
        ports: Some(vec![ContainerPort {
            name: Some(CONTAINER.into()),
            container_port: PORT,
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        resources: Some(resources.to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(mysql_mounts()),
        // Crash recovery of a large data directory takes time: up to 10 minutes.
        startup_probe: Some(exec_probe(&ping, 10, 60)),
        liveness_probe: Some(exec_probe(&ping, 10, 3)),
        readiness_probe: Some(exec_probe(&["bash", &ready], 5, 3)),
        ..Default::default()
    }
}

/// An init container in the MySQL image running `script` from the ConfigMap.
fn init_container(p: &SdcMysqlParams, name: &str, script: &str, resources: &Resources, env: Vec<EnvVar>) -> Container {
    Container {
        name: name.into(),
        image: Some(p.image.clone()),
        command: Some(vec!["bash".into(), format!("{CONFIG_DIR}/{script}")]),
        env: Some(env),
        resources: Some(resources.to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(mysql_mounts()),
        ..Default::default()
    }
}

struct StsSpec<'a> {
    name: &'a str,
    namespace: &'a str,
    role: &'a str,
    replicas: i32,
    init_containers: Vec<Container>,
    container: Container,
    volumes: Vec<Volume>,
    affinity: Affinity,
    spread: Vec<TopologySpreadConstraint>,
    annotations: BTreeMap<String, String>,
}

fn stateful_set(p: &SdcMysqlParams, s: StsSpec) -> StatefulSet {
    let pod = PodSpec {
        automount_service_account_token: Some(false),
        security_context: Some(pod_security(MYSQL_UID, MYSQL_UID, MYSQL_UID)),
        // Room for InnoDB to flush and shut down cleanly.
        termination_grace_period_seconds: Some(120),
        affinity: Some(s.affinity),
        topology_spread_constraints: Some(s.spread),
        init_containers: Some(s.init_containers),
        containers: vec![s.container],
        volumes: Some(s.volumes),
        ..Default::default()
    };
    DatastoreSet {
        name: s.name,
        namespace: s.namespace,
        role: s.role,
        replicas: s.replicas,
        // One at a time, in order: replica N clones from replica N-1 once it is ready.
        pod_management_policy: "OrderedReady",
        retain_claims: false,
        annotations: s.annotations,
        pod,
        claims: Some(vec![sdc::data_claim_template(&p.storage_class, &p.storage)]),
    }
    .build()
}

fn common_volumes(config_map: &str) -> Vec<Volume> {
    vec![empty_dir("conf"), empty_dir("run"), empty_dir("tmp"), config_map_volume("config", config_map, None)]
}

fn master_stateful_set(p: &SdcMysqlParams, cx: &Context, sums: &Checksums) -> StatefulSet {
    let env = vec![
        root_password_env(),
        // root for the pod's own probes and scripts only.
        value_env("MYSQL_ROOT_HOST", "127.0.0.1"),
        value_env("MYSQL_DATABASE", &p.database),
        value_env("MYSQL_USER", &p.user),
        secret_env("MYSQL_PASSWORD", sdc::secrets::MYSQL_PASSWORD),
        // For replication-user.sh, which the entrypoint runs on a new data directory.
        replication_password_env(),
    ];
    let mut container = mysql_container(p, &p.resources, env);
    if let Some(mounts) = container.volume_mounts.as_mut() {
        mounts.push(read_only_mount("initdb", INITDB_DIR));
    }
    let init = init_container(
        p,
        "init-mysql",
        "init-master.sh",
        &p.resources,
        vec![pod_name_env(), root_password_env(), replication_password_env()],
    );
    let mut volumes = common_volumes(MASTER_CONFIG);
    volumes.push(config_map_volume("initdb", MASTER_CONFIG, Some(&["replication-user.sh"])));
    let (affinity, spread) = sdc::placement(MASTER_ROLE, &[(MASTER_ROLE, 100)], cx);
    stateful_set(
        p,
        StsSpec {
            namespace: namespace(cx),
            name: MASTER,
            role: MASTER_ROLE,
            replicas: 1,
            init_containers: vec![init],
            container,
            volumes,
            affinity,
            spread,
            annotations: sums.pod_annotations(CONTAINER),
        },
    )
}

fn replica_stateful_set(p: &SdcMysqlParams, cx: &Context, sums: &Checksums) -> StatefulSet {
    let config = init_container(
        p,
        "init-mysql",
        "init-replica.sh",
        &Resources::new("10m", "32Mi", None, "64Mi"),
        vec![pod_name_env()],
    );
    let clone = init_container(
        p,
        "clone-mysql",
        "clone.sh",
        &p.replica_resources,
        vec![pod_name_env(), root_password_env(), replication_password_env()],
    );
    let container = mysql_container(p, &p.replica_resources, vec![root_password_env()]);
    // Replicas keep away from each other first, then from the master.
    let (affinity, spread) = sdc::placement(REPLICA_ROLE, &[(REPLICA_ROLE, 100), (MASTER_ROLE, 50)], cx);
    stateful_set(
        p,
        StsSpec {
            namespace: namespace(cx),
            name: REPLICA,
            role: REPLICA_ROLE,
            // Invariant: validated to fit.
            replicas: i32::try_from(p.replicas).unwrap_or(i32::MAX),
            init_containers: vec![config, clone],
            container,
            volumes: common_volumes(REPLICA_CONFIG),
            affinity,
            spread,
            annotations: sums.pod_annotations(CONTAINER),
        },
    )
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use super::*;
    use crate::common::testing::{self as testing, data_file as file};
    use crate::common::testing::{find, path_of};
    use crate::quantity::Quantity;
    use crate::Stack;

    const ROOT_PW: &str = "r00t-Secret-1";
    const USER_PW: &str = "us3r-Secret-2";
    const REPL_PW: &str = "r3pl-Secret-3";

    fn secrets_cx() -> Context {
        let mut cx = Context::default();
        cx.secrets.insert(
            SECRETS_COMPONENT.into(),
            [
                (sdc::secrets::MYSQL_ROOT_PASSWORD, ROOT_PW),
                (sdc::secrets::MYSQL_PASSWORD, USER_PW),
                (sdc::secrets::MYSQL_REPLICATION_PASSWORD, REPL_PW),
                // Another component's key in the same block is left alone.
                (sdc::secrets::LICENSE_KEY, "license-text"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        cx
    }

    fn build(p: &SdcMysqlParams) -> Vec<Object> {
        SdcMysql::build(p, &Context::default()).expect("parameters build")
    }

    fn with(f: impl FnOnce(&mut SdcMysqlParams)) -> SdcMysqlParams {
        testing::with(f)
    }

    fn error_of(p: &SdcMysqlParams) -> Error {
        SdcMysql::build(p, &Context::default()).expect_err("parameters are rejected")
    }

    fn pod<'a>(objects: &'a [Object], key: &str) -> &'a serde_json::Value {
        &find(objects, key).value["spec"]["template"]["spec"]
    }

    fn container<'a>(pod: &'a serde_json::Value, list: &str, name: &str) -> &'a serde_json::Value {
        pod[list].as_array().into_iter().flatten().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no {name}"))
    }

    fn env<'a>(c: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
        c["env"].as_array().into_iter().flatten().find(|e| e["name"] == name)
    }

    #[test]
    fn default_build_has_the_originals_names_and_keys() {
        let objects = build(&SdcMysqlParams::default());
        let got: Vec<(&str, &str, &str)> = objects.iter().map(|o| (o.key.as_str(), o.kind(), o.name())).collect();
        assert_eq!(
            got,
            [
                ("config", "ConfigMap", "sysdigcloud-mysql-config"),
                ("slaveConfig", "ConfigMap", "sysdigcloud-mysql-config-slave"),
                ("svc", "Service", "sdc-mysql"),
                ("slaveSvc", "Service", "sdc-mysql-slave"),
                ("sts", "StatefulSet", "sdc-mysql"),
                ("slaveSts", "StatefulSet", "sdc-mysql-slave"),
                ("slaveDisruptionBudget", "PodDisruptionBudget", "sdc-mysql-slave"),
            ]
        );
        for o in &objects {
            assert_eq!(o.namespace(), "sysdigcloud", "{}", o.key);
            assert_eq!(o.value["metadata"]["labels"]["app"], "sysdigcloud", "{}", o.key);
            assert!(["v1", "apps/v1", "policy/v1"].contains(&o.api_version()), "{}", o.key);
        }
        let master = &find(&objects, "sts").value["spec"];
        assert_eq!(master["replicas"], 1);
        assert_eq!(master["serviceName"], "sdc-mysql");
        assert_eq!(master["selector"]["matchLabels"], serde_json::json!({"app": "sysdigcloud", "role": "mysql"}));
        let replicas = &find(&objects, "slaveSts").value["spec"];
        assert_eq!(replicas["replicas"], 2);
        assert_eq!(replicas["serviceName"], "sdc-mysql-slave");
        assert_eq!(replicas["podManagementPolicy"], "OrderedReady");
        assert_eq!(
            replicas["selector"]["matchLabels"],
            serde_json::json!({"app": "sysdigcloud", "role": "mysql-slave"})
        );
        for key in ["sts", "slaveSts"] {
            let c = &pod(&objects, key)["containers"][0];
            assert_eq!(c["name"], "mysql");
            assert_eq!(c["image"], "mysql:8.4.10");
        }
        assert!(!DEFAULT_IMAGE.ends_with(":latest") && DEFAULT_IMAGE.starts_with("mysql:8.4."));
    }

    #[test]
    fn services_are_headless_and_select_their_own_role_only() {
        let objects = build(&SdcMysqlParams::default());
        for (svc, sts, other) in [("svc", "sts", "slaveSts"), ("slaveSvc", "slaveSts", "sts")] {
            let spec = &find(&objects, svc).value["spec"];
            assert_eq!(spec["clusterIP"], "None", "{svc}");
            assert_eq!(spec["ports"][0]["port"], 3306);
            assert_eq!(spec["ports"][0]["name"], "sql");
            assert_eq!(spec["ports"][0]["targetPort"], "mysql");
            let selector = spec["selector"].as_object().expect("a selector");
            let labels = |key: &str| find(&objects, key).value["spec"]["template"]["metadata"]["labels"].clone();
            let own = labels(sts);
            let others = labels(other);
            assert!(selector.iter().all(|(k, v)| own.get(k) == Some(v)), "{svc} selects its pods");
            assert!(!selector.iter().all(|(k, v)| others.get(k) == Some(v)), "{svc} must not select {other}");
            assert_eq!(find(&objects, sts).value["spec"]["serviceName"], find(&objects, svc).value["metadata"]["name"]);
        }
        let pdb = &find(&objects, "slaveDisruptionBudget").value["spec"];
        assert_eq!(pdb["maxUnavailable"], 1);
        assert_eq!(pdb["selector"]["matchLabels"]["role"], "mysql-slave");
    }

    #[test]
    fn claims_are_the_originals_data_on_the_standard_tier() {
        let objects = build(&SdcMysqlParams::default());
        for key in ["sts", "slaveSts"] {
            let vct = &find(&objects, key).value["spec"]["volumeClaimTemplates"];
            assert_eq!(vct.as_array().map(Vec::len), Some(1));
            assert_eq!(vct[0]["metadata"], serde_json::json!({"name": "data"}));
            assert_eq!(vct[0]["spec"]["storageClassName"], sdc::storage::STANDARD);
            assert_eq!(vct[0]["spec"]["resources"]["requests"]["storage"], "2Gi");
            let mounts = &pod(&objects, key)["containers"][0]["volumeMounts"];
            let data = mounts.as_array().into_iter().flatten().find(|m| m["name"] == "data").expect("data mounted");
            assert_eq!(data["mountPath"], "/var/lib/mysql");
            assert!(data.get("subPath").is_none(), "the volume is mounted whole");
        }
        let cnf = file(&build(&SdcMysqlParams::default()), "config", "master.cnf").to_string();
        assert!(cnf.contains("datadir = /var/lib/mysql/mysql\n"), "the original's subPath `mysql`: {cnf}");
        let objects = build(&with(|p| p.storage_class = "gce-pd".into()));
        assert_eq!(
            find(&objects, "sts").value["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"],
            "gce-pd"
        );
    }

    #[test]
    fn replication_user_is_not_root() {
        let objects = build(&SdcMysqlParams::default());
        let user = file(&objects, "config", "replication-user.sh");
        assert!(user.contains("CREATE USER IF NOT EXISTS 'repluser'@'%' IDENTIFIED BY $password;"), "{user}");
        assert!(user.contains("GRANT REPLICATION SLAVE, BACKUP_ADMIN ON *.* TO 'repluser'@'%';"), "{user}");
        assert!(!user.contains("ALL PRIVILEGES") && !user.contains("GRANT ALL"), "{user}");
        let clone = file(&objects, "slaveConfig", "clone.sh");
        assert!(clone.contains("SOURCE_USER = 'repluser',"), "{clone}");
        assert!(clone.contains("CLONE INSTANCE FROM 'repluser'@'$donor'"), "{clone}");
        assert!(!clone.contains("'root'"), "{clone}");

        for (key, value) in [("replication_user", "root"), ("replication_user", "ROOT"), ("user", "root")] {
            let e = error_of(&with(|p| {
                if key == "user" {
                    p.user = value.into();
                } else {
                    p.replication_user = value.into();
                }
            }));
            assert_eq!(path_of(&e), format!("sdc_mysql.{key}"), "{value}");
            assert!(e.to_string().contains("must not be `root`"), "{e}");
        }
        let e = error_of(&with(|p| p.replication_user = "admin".into()));
        assert_eq!(path_of(&e), "sdc_mysql.replication_user");
        let e = error_of(&with(|p| p.replication_user = "repl'; DROP".into()));
        assert_eq!(path_of(&e), "sdc_mysql.replication_user");

        let e = SdcMysql::build(&SdcMysqlParams::default(), &{
            let mut cx = secrets_cx();
            let block = cx.secrets.get_mut(SECRETS_COMPONENT).expect("block");
            block.insert(sdc::secrets::MYSQL_REPLICATION_PASSWORD.into(), ROOT_PW.into());
            cx
        })
        .expect_err("the replication password must not be root's");
        assert!(e.to_string().contains("is the root password"), "{e}");
        assert!(!e.to_string().contains(ROOT_PW), "{e}");
    }

    #[test]
    fn change_replication_source_statement_uses_gtid_auto_positioning() {
        let objects = build(&SdcMysqlParams::default());
        let clone = file(&objects, "slaveConfig", "clone.sh");
        assert!(clone.contains("MASTER=sdc-mysql-0.sdc-mysql.sysdigcloud.svc\n"), "{clone}");
        let start = clone.find("CHANGE REPLICATION SOURCE TO\n").expect("the statement");
        let statement = &clone[start..start + clone[start..].find(';').expect("terminated")];
        let options: Vec<&str> = statement.lines().skip(1).map(str::trim).collect();
        assert_eq!(
            options,
            [
                "SOURCE_HOST = '$MASTER',",
                "SOURCE_PORT = 3306,",
                "SOURCE_USER = 'repluser',",
                "SOURCE_PASSWORD = $password,",
                "SOURCE_AUTO_POSITION = 1,",
                "SOURCE_SSL = 1,",
                "GET_SOURCE_PUBLIC_KEY = 1,",
                "SOURCE_CONNECT_RETRY = 10,",
                "SOURCE_RETRY_COUNT = 86400",
            ]
        );
        // Every option but the last ends with a comma (the original's lacked one).
        assert!(options[..options.len() - 1].iter().all(|o| o.ends_with(',')));
        assert!(!options.iter().any(|o| o.contains("LOG_FILE") || o.contains("LOG_POS")));
        assert!(clone.contains("STOP REPLICA;\nCHANGE REPLICATION SOURCE TO"), "{clone}");
        // The password is an escaped SQL literal of the environment variable.
        assert!(clone.contains("password=$(sql_string \"$MYSQL_REPLICATION_PASSWORD\")"), "{clone}");
        for cnf in [file(&objects, "config", "master.cnf"), file(&objects, "slaveConfig", "slave.cnf")] {
            assert!(cnf.contains("gtid_mode = ON\n") && cnf.contains("enforce_gtid_consistency = ON\n"), "{cnf}");
            assert!(cnf.contains("plugin-load-add = mysql_clone.so\n"), "{cnf}");
        }
    }

    #[test]
    fn clone_is_guarded_by_the_data_directory_and_retried() {
        let objects = build(&SdcMysqlParams::default());
        let clone = file(&objects, "slaveConfig", "clone.sh");
        let lib = file(&objects, "slaveConfig", "lib.sh");
        assert!(lib.contains("DATADIR=/var/lib/mysql/mysql\n"), "{lib}");
        let guard = clone.find("if [ -d \"$DATADIR/mysql\" ]; then\n  log \"the data directory exists: no clone\"");
        let clone_call = clone.find("if clone_from \"$donor\" && install_clone; then");
        assert!(guard.is_some() && clone_call.is_some() && guard < clone_call, "{clone}");
        assert!(clone.contains("until [ -d \"$DATADIR/mysql\" ]; do"), "{clone}");
        assert!(clone.contains("sleep 10"), "{clone}");
        // Clone from the previous replica first, then the master.
        assert!(clone.contains("donors+=(\"sdc-mysql-slave-$((ordinal - 1)).sdc-mysql-slave.sysdigcloud.svc\")"));
        assert!(clone.contains("donors+=(\"$MASTER\")"));
    }

    #[test]
    fn replicas_are_read_only_and_the_master_is_not() {
        let objects = build(&SdcMysqlParams::default());
        let slave = file(&objects, "slaveConfig", "slave.cnf");
        assert!(slave.contains("read_only = ON\n") && slave.contains("super_read_only = ON\n"), "{slave}");
        assert!(slave.contains("relay_log_recovery = ON\n"), "{slave}");
        let master = file(&objects, "config", "master.cnf");
        assert!(!master.contains("read_only"), "{master}");
        assert!(master.contains("log-bin = sysdigcloud-mysql-0-bin\n"), "{master}");
        for cnf in [master, slave] {
            assert!(cnf.contains("character-set-server = utf8mb3\n"), "{cnf}");
            assert!(cnf.contains("collation-server = utf8mb3_unicode_ci\n"), "{cnf}");
            assert!(cnf.contains("innodb_buffer_pool_size = 512M\n"), "{cnf}");
            assert!(cnf.contains("binlog_expire_logs_seconds = 604800\n"), "{cnf}");
            assert!(!cnf.contains("mysql_native_password"), "{cnf}");
            assert!(!cnf.contains("{{") && !cnf.contains("{%"), "{cnf}");
        }
        let native = build(&with(|p| p.native_password = true));
        assert!(file(&native, "config", "master.cnf").contains("authentication_policy = mysql_native_password,,\n"));
    }

    #[test]
    fn no_password_in_any_config_map_or_command_line() {
        let objects = SdcMysql::build(&SdcMysqlParams::default(), &secrets_cx()).expect("builds");
        let secret = find(&objects, "secret");
        assert_eq!(secret.name(), "sdc-mysql");
        let keys: Vec<&String> = secret.value["data"].as_object().expect("data").keys().collect();
        assert_eq!(keys, ["mysql-password", "mysql-replication-password", "mysql-root-password"]);
        for o in objects.iter().filter(|o| o.kind() != "Secret") {
            let text = o.value.to_string();
            for pw in [ROOT_PW, USER_PW, REPL_PW] {
                assert!(!text.contains(pw), "{} holds a password", o.key);
            }
        }
        for o in objects.iter().filter(|o| o.kind() == "ConfigMap") {
            for k in o.value["data"].as_object().expect("data").keys() {
                assert!(!k.contains("password") && !k.contains("license"), "{}: key {k}", o.key);
            }
        }
        for key in ["sts", "slaveSts"] {
            let spec = pod(&objects, key);
            let containers = spec["containers"].as_array().into_iter().flatten();
            for c in containers.chain(spec["initContainers"].as_array().into_iter().flatten()) {
                for e in c["env"].as_array().into_iter().flatten() {
                    if e["name"].as_str().unwrap_or("").contains("PASSWORD") {
                        assert_eq!(e["valueFrom"]["secretKeyRef"]["name"], "sdc-mysql", "{key}/{}", c["name"]);
                        assert!(e.get("value").is_none());
                    }
                }
            }
        }
    }

    #[test]
    fn secret_is_rendered_from_the_secrets_file_or_declared_external() {
        let external = SdcMysql::externals(&SdcMysqlParams::default(), &Context::default());
        assert_eq!(external, [("Secret".to_string(), "sysdigcloud".to_string(), "sdc-mysql".to_string())]);
        assert!(build(&SdcMysqlParams::default()).iter().all(|o| o.kind() != "Secret"));
        let objects = build(&SdcMysqlParams::default());
        let tpl = &find(&objects, "sts").value["spec"]["template"]["metadata"];
        assert!(tpl["annotations"].get("checksum/secret").is_none());

        let cx = secrets_cx();
        assert!(SdcMysql::externals(&SdcMysqlParams::default(), &cx).is_empty());
        let objects = SdcMysql::build(&SdcMysqlParams::default(), &cx).expect("builds");
        for key in ["sts", "slaveSts"] {
            let a = &find(&objects, key).value["spec"]["template"]["metadata"]["annotations"];
            assert_eq!(a["checksum/secret"].as_str().map(str::len), Some(64), "{key}");
        }

        // Some keys but not all: an error naming the missing key, never a value.
        let mut partial = Context::default();
        partial.secrets.insert(
            SECRETS_COMPONENT.into(),
            BTreeMap::from([(sdc::secrets::MYSQL_ROOT_PASSWORD.to_string(), ROOT_PW.to_string())]),
        );
        let e = SdcMysql::build(&SdcMysqlParams::default(), &partial).expect_err("incomplete");
        assert!(e.to_string().contains("`sdc.mysql-password` is missing"), "{e}");
        assert!(!e.to_string().contains(ROOT_PW));
        // A value MySQL's image would write into SQL unescaped.
        let mut quoted = secrets_cx();
        quoted
            .secrets
            .get_mut(SECRETS_COMPONENT)
            .expect("block")
            .insert(sdc::secrets::MYSQL_PASSWORD.into(), "it's".into());
        let e = SdcMysql::build(&SdcMysqlParams::default(), &quoted).expect_err("a quote");
        assert!(e.to_string().contains("`sdc.mysql-password`") && !e.to_string().contains("it's"), "{e}");
    }

    #[test]
    fn containers_read_passwords_from_the_secret() {
        let objects = build(&SdcMysqlParams::default());
        let master = pod(&objects, "sts");
        let mysql = container(master, "containers", "mysql");
        for (var, key) in [
            ("MYSQL_ROOT_PASSWORD", "mysql-root-password"),
            ("MYSQL_PASSWORD", "mysql-password"),
            ("MYSQL_REPLICATION_PASSWORD", "mysql-replication-password"),
        ] {
            let e = env(mysql, var).unwrap_or_else(|| panic!("{var}"));
            assert_eq!(e["valueFrom"]["secretKeyRef"], serde_json::json!({"name": "sdc-mysql", "key": key}));
        }
        assert_eq!(env(mysql, "MYSQL_USER").expect("user")["value"], "admin");
        assert_eq!(env(mysql, "MYSQL_DATABASE").expect("database")["value"], "draios");
        assert_eq!(env(mysql, "MYSQL_ROOT_HOST").expect("root host")["value"], "127.0.0.1");
        // The entrypoint runs replication-user.sh on a new data directory.
        let initdb =
            master["volumes"].as_array().into_iter().flatten().find(|v| v["name"] == "initdb").expect("initdb");
        assert_eq!(initdb["configMap"]["items"][0]["key"], "replication-user.sh");
        assert_eq!(initdb["configMap"]["items"][0]["mode"], 0o555);
        let mounts = mysql["volumeMounts"].as_array().into_iter().flatten();
        assert!(mounts.clone().any(|m| m["name"] == "initdb" && m["mountPath"] == "/docker-entrypoint-initdb.d"));

        let replicas = pod(&objects, "slaveSts");
        let inits: Vec<&str> =
            replicas["initContainers"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).collect();
        assert_eq!(inits, ["init-mysql", "clone-mysql"]);
        let clone = container(replicas, "initContainers", "clone-mysql");
        assert!(env(clone, "MYSQL_REPLICATION_PASSWORD").is_some() && env(clone, "MYSQL_ROOT_PASSWORD").is_some());
        assert_eq!(env(clone, "POD_NAME").expect("pod name")["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name");
        assert_eq!(clone["command"], serde_json::json!(["bash", "/etc/mysql/runway/clone.sh"]));
    }

    #[test]
    fn probes_ping_and_query() {
        let objects = build(&SdcMysqlParams::default());
        for key in ["sts", "slaveSts"] {
            let c = &pod(&objects, key)["containers"][0];
            let ping = serde_json::json!(["mysqladmin", "--protocol=socket", "ping"]);
            assert_eq!(c["livenessProbe"]["exec"]["command"], ping, "{key}");
            assert_eq!(c["startupProbe"]["exec"]["command"], ping, "{key}");
            assert_eq!(
                c["readinessProbe"]["exec"]["command"],
                serde_json::json!(["bash", "/etc/mysql/runway/ready.sh"])
            );
        }
        let master = file(&objects, "config", "ready.sh");
        assert!(master.contains("--execute='SELECT 1'") && master.contains("--protocol=tcp --host=127.0.0.1"));
        let replica = file(&objects, "slaveConfig", "ready.sh");
        assert!(replica.contains("SHOW REPLICA STATUS") && replica.contains("Replica_SQL_Running: Yes"), "{replica}");
    }

    #[test]
    fn pods_run_locked_down_with_checksums() {
        let objects = build(&SdcMysqlParams::default());
        for key in ["sts", "slaveSts"] {
            let tpl = &find(&objects, key).value["spec"]["template"];
            let spec = &tpl["spec"];
            assert_eq!(spec["automountServiceAccountToken"], false);
            assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
            assert_eq!(spec["securityContext"]["runAsUser"], 999);
            assert_eq!(spec["securityContext"]["fsGroup"], 999);
            assert_eq!(spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
            let all = spec["containers"].as_array().into_iter().flatten();
            for c in all.chain(spec["initContainers"].as_array().into_iter().flatten()) {
                let sc = &c["securityContext"];
                assert_eq!(sc["readOnlyRootFilesystem"], true, "{key}/{}", c["name"]);
                assert_eq!(sc["allowPrivilegeEscalation"], false);
                assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
                assert!(
                    c["resources"]["requests"]["memory"].is_string() && c["resources"]["limits"]["memory"].is_string()
                );
            }
            assert_eq!(tpl["metadata"]["annotations"]["checksum/config"].as_str().map(str::len), Some(64));
            let spread = &spec["topologySpreadConstraints"][0];
            assert_eq!(spread["topologyKey"], "topology.kubernetes.io/zone");
            let anti = &spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0];
            assert_eq!(anti["podAffinityTerm"]["topologyKey"], "kubernetes.io/hostname");
        }
    }

    #[test]
    fn config_checksums_follow_the_config_files() {
        let sum = |p: &SdcMysqlParams, key: &str| {
            find(&build(p), key).value["spec"]["template"]["metadata"]["annotations"]["checksum/config"].clone()
        };
        let base = SdcMysqlParams::default();
        for key in ["sts", "slaveSts"] {
            assert_eq!(sum(&base, key), sum(&base, key));
            assert_ne!(sum(&base, key), sum(&with(|p| p.buffer_pool = Quantity::from("256Mi")), key), "{key}");
            assert_eq!(sum(&base, key), sum(&with(|p| p.replicas = 5), key), "scaling rolls nothing");
        }
    }

    #[test]
    fn parameters_are_validated_with_their_paths() {
        for (p, path) in [
            (with(|p| p.buffer_pool = Quantity::from("600Mi")), "sdc_mysql.buffer_pool"),
            (with(|p| p.buffer_pool = Quantity::from("1.5Mi")), "sdc_mysql.buffer_pool"),
            (with(|p| p.binlog_expire_days = 0), "sdc_mysql.binlog_expire_days"),
            (with(|p| p.collation = "latin1_swedish_ci".into()), "sdc_mysql.collation"),
            (with(|p| p.character_set = "utf-8".into()), "sdc_mysql.character_set"),
            (with(|p| p.storage_class = "Fast SSD".into()), "sdc_mysql.storage_class"),
            (with(|p| p.storage = Quantity::from("0")), "sdc_mysql.storage"),
            (with(|p| p.image = String::new()), "sdc_mysql.image"),
            (with(|p| p.database = "9lives".into()), "sdc_mysql.database"),
            (with(|p| p.resources = Resources::new("500m", "2Gi", None, "1Gi")), "sdc_mysql.resources"),
        ] {
            let e = error_of(&p);
            assert_eq!(path_of(&e), path, "{e}");
            assert!(!e.helps().is_empty(), "{path} has a help line");
        }
        let e = error_of(&with(|p| p.buffer_pool = Quantity::from("600Mi")));
        assert!(e.helps().iter().any(|h| h.contains("1200Mi")), "{:?}", e.helps());
        build(&with(|p| p.replicas = 0));
    }

    #[test]
    fn every_object_round_trips() {
        for cx in [Context::default(), secrets_cx()] {
            for mut o in SdcMysql::build(&with(|p| p.native_password = true), &cx).expect("builds") {
                let before = o.value.clone();
                o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
                assert_eq!(before, o.value, "{} changed in the round trip", o.key);
            }
        }
    }

    #[test]
    fn defaults_serialize_and_read_back() {
        let json = serde_json::to_value(SdcMysqlParams::default()).expect("serializes");
        assert_eq!(json["replicas"], 2);
        assert_eq!(json["replication_user"], "repluser");
        let back: SdcMysqlParams = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, SdcMysqlParams::default());
        assert!(serde_json::from_value::<SdcMysqlParams>(serde_json::json!({"replica": 3})).is_err());
    }

    #[test]
    fn renders_in_a_stack_with_the_secrets_file_and_without() {
        for platform in ["gke", "eks"] {
            for secrets in [true, false] {
                let mut s = Stack::new();
                s.platform(platform, "test").expect("platform");
                s.set("config.dns_zone=example.com", false).expect("set");
                s.set("platform.components.sdc_mysql=true", false).expect("set");
                s.set("platform.components.sdc_storage=true", false).expect("set");
                s.set("sdc_mysql.replicas=3", false).expect("set");
                if secrets {
                    s.secrets(
                        "secrets.yaml",
                        "sdc:\n  mysql-root-password: r00t\n  mysql-password: us3r\n  mysql-replication-password: r3pl\n",
                    )
                    .expect("secrets");
                }
                let rendered = s
                    .render(&[&SdcMysql, &crate::sdc_storage::SdcStorage])
                    .unwrap_or_else(|e| panic!("{platform}: {}", e.render()));
                let mine: Vec<&Object> = rendered
                    .objects
                    .iter()
                    .filter(|o| o.component == "sdc_mysql" && o.kind() != "NetworkPolicy")
                    .collect();
                assert_eq!(mine.len(), if secrets { 8 } else { 7 }, "{platform}");
                let sts = mine.iter().find(|o| o.key == "slaveSts").expect("replicas");
                assert_eq!(sts.value["spec"]["replicas"], 3);
                assert!(rendered.objects.iter().any(|o| o.kind() == "Namespace" && o.name() == "sysdigcloud"));
            }
        }
    }

    // The scripts, run by bash against stand-ins for mysqld, mysql and mysqladmin that
    // log how they are called, in a scratch directory that replaces the pod's paths.

    struct Sandbox {
        dir: PathBuf,
    }

    impl Sandbox {
        fn new(name: &str, objects: &[Object], key: &str) -> Option<Sandbox> {
            if Command::new("bash").arg("--version").output().is_err() {
                eprintln!("bash is not installed: skipped");
                return None;
            }
            let dir = std::env::temp_dir().join(format!("runway-sdc-mysql-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            for sub in ["config", "conf", "vol", "bin", "tmp"] {
                std::fs::create_dir_all(dir.join(sub)).expect("scratch directories");
            }
            let root = dir.display().to_string();
            for (file, text) in find(objects, key).value["data"].as_object().expect("data") {
                let text = text
                    .as_str()
                    .expect("text")
                    .replace("/tmp/clone-bootstrap", &format!("{root}/tmp/clone-bootstrap"))
                    .replace("/var/lib/mysql", &format!("{root}/vol"))
                    .replace("/etc/mysql/runway", &format!("{root}/config"))
                    .replace("/etc/mysql/conf.d", &format!("{root}/conf"));
                std::fs::write(dir.join("config").join(file), text).expect("written");
            }
            // mysqld: `--initialize-insecure` makes the data directory; as a server it
            // just returns. mysql: logs its arguments and SQL; a CLONE succeeds unless
            // the donor is in $FAIL_DONORS, creating the staging directory. mysqladmin:
            // logs and succeeds.
            let stubs = [
                (
                    "mysqld",
                    r#"echo "mysqld $*" >> "$LOG"
for a in "$@"; do case $a in --datadir=*) d=${a#--datadir=};; esac; done
case " $* " in *" --initialize-insecure "*) mkdir -p "$d/mysql";; esac
exit 0"#,
                ),
                (
                    "mysql",
                    r#"echo "mysql $*" >> "$LOG"
sql=$(cat); printf '%s\n' "$sql" >> "$SQL_LOG"
case $sql in *"CLONE INSTANCE"*)
  donor=$(printf '%s' "$sql" | sed -n "s/.*'@'\([^']*\)'.*/\1/p" | head -n 1)
  case " $FAIL_DONORS " in *" $donor "*) exit 1;; esac
  dir=$(printf '%s' "$sql" | sed -n "s/.*DATA DIRECTORY = '\([^']*\)'.*/\1/p")
  mkdir -p "$dir/mysql" "$dir/#innodb_redo" && touch "$dir/ibdata1" "$dir/mysql.ibd" "$dir/.hidden";;
esac
exit 0"#,
                ),
                ("mysqladmin", r#"echo "mysqladmin $*" >> "$LOG"; exit 0"#),
            ];
            for (name, body) in stubs {
                let path = dir.join("bin").join(name);
                std::fs::write(&path, format!("#!/bin/bash\n{body}\n")).expect("stub");
                Command::new("chmod").arg("+x").arg(&path).status().expect("chmod");
            }
            Some(Sandbox { dir })
        }

        fn run(&self, script: &str, pod: &str, fail_donors: &str) -> std::process::Output {
            let path = format!("{}:{}", self.dir.join("bin").display(), "/usr/bin:/bin");
            Command::new("bash")
                .arg(self.dir.join("config").join(script))
                .env_clear()
                .env("PATH", path)
                .env("POD_NAME", pod)
                .env("MYSQL_ROOT_PASSWORD", ROOT_PW)
                .env("MYSQL_REPLICATION_PASSWORD", REPL_PW)
                .env("LOG", self.dir.join("calls.log"))
                .env("SQL_LOG", self.dir.join("sql.log"))
                .env("FAIL_DONORS", fail_donors)
                .output()
                .expect("bash runs")
        }

        fn read(&self, name: &str) -> String {
            std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
        }

        fn path(&self, rel: &str) -> PathBuf {
            self.dir.join(rel)
        }
    }

    impl Drop for Sandbox {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn exists(p: &Path) -> bool {
        p.exists()
    }

    #[test]
    fn clone_script_clones_once_from_the_previous_replica_and_configures_replication() {
        let objects = build(&SdcMysqlParams::default());
        let Some(sb) = Sandbox::new("clone", &objects, "slaveConfig") else { return };
        let out = sb.run("clone.sh", "sdc-mysql-slave-1", "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let sql = sb.read("sql.log");
        assert!(
            sql.contains("CLONE INSTANCE FROM 'repluser'@'sdc-mysql-slave-0.sdc-mysql-slave.sysdigcloud.svc':3306"),
            "{sql}"
        );
        assert!(sql.contains(&format!("IDENTIFIED BY '{REPL_PW}'")), "{sql}");
        assert!(sql.contains("SOURCE_HOST = 'sdc-mysql-0.sdc-mysql.sysdigcloud.svc',"), "{sql}");
        assert!(sql.contains(&format!("SOURCE_PASSWORD = '{REPL_PW}',")), "{sql}");
        // The clone is in place, the `mysql` directory included, and staging is gone.
        for rel in ["vol/mysql/mysql", "vol/mysql/ibdata1", "vol/mysql/mysql.ibd", "vol/mysql/.hidden"] {
            assert!(exists(&sb.path(rel)), "{rel}");
        }
        assert!(exists(&sb.path("vol/mysql/#innodb_redo")));
        assert!(!exists(&sb.path("vol/clone-staging")));
        // No password in any process's arguments.
        let calls = sb.read("calls.log");
        assert!(!calls.contains(ROOT_PW) && !calls.contains(REPL_PW), "{calls}");
        assert!(calls.contains("--defaults-extra-file=/dev/fd/"), "{calls}");
        assert!(calls.contains("--skip-networking"), "{calls}");

        // A restart with the data in place: no clone, replication configured again.
        std::fs::remove_file(sb.path("sql.log")).expect("reset");
        std::fs::remove_file(sb.path("calls.log")).expect("reset");
        let out = sb.run("clone.sh", "sdc-mysql-slave-1", "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let sql = sb.read("sql.log");
        assert!(!sql.contains("CLONE INSTANCE"), "{sql}");
        assert!(sql.contains("CHANGE REPLICATION SOURCE TO"), "{sql}");
        assert!(!sb.read("calls.log").contains("--initialize-insecure"));
        assert!(String::from_utf8_lossy(&out.stderr).contains("the data directory exists: no clone"));
    }

    #[test]
    fn clone_script_falls_back_to_the_master_when_the_peer_fails() {
        let objects = build(&SdcMysqlParams::default());
        let Some(sb) = Sandbox::new("fallback", &objects, "slaveConfig") else { return };
        let out = sb.run("clone.sh", "sdc-mysql-slave-2", "sdc-mysql-slave-1.sdc-mysql-slave.sysdigcloud.svc");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("clone attempt 1 from sdc-mysql-slave-1.sdc-mysql-slave.sysdigcloud.svc failed"));
        assert!(stderr.contains("cloned from sdc-mysql-0.sdc-mysql.sysdigcloud.svc"), "{stderr}");
        assert!(exists(&sb.path("vol/mysql/mysql")));

        // Replica 0 has no peer: it clones from the master.
        let Some(sb) = Sandbox::new("first", &objects, "slaveConfig") else { return };
        let out = sb.run("clone.sh", "sdc-mysql-slave-0", "");
        assert!(out.status.success());
        assert!(sb.read("sql.log").contains("'repluser'@'sdc-mysql-0.sdc-mysql.sysdigcloud.svc':3306"));
    }

    #[test]
    fn init_scripts_derive_the_server_id_from_the_ordinal() {
        let objects = build(&SdcMysqlParams::default());
        let Some(sb) = Sandbox::new("server-id", &objects, "slaveConfig") else { return };
        let out = sb.run("init-replica.sh", "sdc-mysql-slave-3", "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let cnf = sb.read("conf/server-id.cnf");
        assert!(cnf.contains("server-id = 203\n"), "{cnf}");
        assert!(cnf.contains("report_host = sdc-mysql-slave-3.sdc-mysql-slave.sysdigcloud.svc\n"), "{cnf}");
        assert!(sb.read("conf/slave.cnf").contains("super_read_only = ON"));
        let bad = sb.run("init-replica.sh", "not-a-pod", "");
        assert!(!bad.status.success());

        let Some(sb) = Sandbox::new("master", &objects, "config") else { return };
        // A new data directory: only the option files; the entrypoint does the rest.
        let out = sb.run("init-master.sh", "sdc-mysql-0", "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(sb.read("conf/server-id.cnf").contains("server-id = 100\n"));
        assert!(sb.read("sql.log").is_empty());
        // An existing one: the replication user is created or updated.
        std::fs::create_dir_all(sb.path("vol/mysql/mysql")).expect("data");
        let out = sb.run("init-master.sh", "sdc-mysql-0", "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let sql = sb.read("sql.log");
        assert!(sql.contains(&format!("ALTER USER 'repluser'@'%' IDENTIFIED BY '{REPL_PW}';")), "{sql}");
        assert!(!sb.read("calls.log").contains(REPL_PW));
    }

    #[test]
    fn rendered_scripts_are_valid_bash() {
        let objects = build(&SdcMysqlParams::default());
        for key in ["config", "slaveConfig"] {
            let Some(sb) = Sandbox::new(&format!("syntax-{key}"), &objects, key) else { return };
            for (name, _) in find(&objects, key).value["data"].as_object().expect("data") {
                if name.ends_with(".sh") {
                    let out = Command::new("bash").arg("-n").arg(sb.path(&format!("config/{name}"))).output();
                    let out = out.expect("bash runs");
                    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
                }
            }
        }
    }

    #[test]
    fn a_namespaces_entry_moves_mysql_its_scripts_and_its_secret() {
        let mut cx = Context::default();
        cx.config.namespaces.insert("sdc_mysql".into(), "storage".into());
        let objects = SdcMysql::build(&SdcMysqlParams::default(), &cx).expect("builds");
        assert!(objects.iter().all(|o| o.namespace() == "storage"), "every object moves");
        let clone = objects.iter().find(|o| o.key == "slaveConfig").expect("slaveConfig").value["data"]["clone.sh"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(clone.contains("MASTER=sdc-mysql-0.sdc-mysql.storage.svc\n"), "{clone}");
        assert_eq!(SdcMysql::externals(&SdcMysqlParams::default(), &cx)[0].1, "storage");
    }
}
