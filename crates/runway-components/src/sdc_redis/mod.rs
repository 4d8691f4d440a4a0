//! Redis for the Sysdig backend (sdc-kubernetes' `datastores/sdc-redis-master.yaml` and
//! `sdc-redis-slaves.yaml`): a master and replicas with authentication actually enforced,
//! and, with `mode: sentinel`, Redis Sentinel for automatic failover (the original's
//! "Redis cluster support" TODO).
//!
//! # What it renders
//!
//! - StatefulSet `sdc-redis` (one pod, the master) and its headless Service `sdc-redis`
//!   (6379 `client`, and 16379 `gossip` as the original, on which nothing listens since
//!   cluster mode is off): the backend's `redis.endpoint`.
//! - StatefulSet `sdc-redis-slave` (`replicas`, 2 by default as the original) and its
//!   headless Service `sdc-redis-slave` (the same ports): read-only replicas of the
//!   master. A PodDisruptionBudget lets one go at a time.
//! - ConfigMaps `sysdigcloud-redis-config` and `sysdigcloud-redis-config-slave`
//!   (the original's): `redis.conf` rendered from `templates/redis.conf.j2`, and
//!   `start.sh`.
//! - The Secret `sdc-redis` (key `redis-password`) when the `sdc:` block of the secrets
//!   file gives it; otherwise it is declared external and must exist in `sysdigcloud`.
//! - With `mode: sentinel`: StatefulSet `sdc-redis-sentinel` (3 Sentinels, quorum 2), its
//!   headless Service `sdc-redis-sentinel` (26379), ConfigMap
//!   `sysdigcloud-redis-config-sentinel` and a PodDisruptionBudget that keeps a majority
//!   of the Sentinels up. Their keys are under `sentinel` (`sdc_redis: {sentinel: {sts:
//!   ...}}`).
//!
//! # Authentication, and how it is fixed
//!
//! The original read `redis.password` from a ConfigMap (an empty string) and never gave it
//! to Redis: anyone in the cluster could read and write. Here `start.sh` writes the
//! runtime configuration into an in-memory volume at every start, the ConfigMap's
//! `redis.conf` plus `requirepass` and `masterauth` with the password from the Secret
//! (environment variable `REDISCLI_AUTH`, which `redis-cli` also reads, so the probes
//! `redis-cli ping` authenticate without a password on their command line). Replicas
//! authenticate to their master with it; Sentinels use it to talk to Redis
//! (`sentinel auth-pass`) and, with `sentinel.require_auth` (the default), require it from
//! their own clients and peers.
//!
//! # Sentinel
//!
//! Everything is named by DNS (`sentinel resolve-hostnames`, `announce-hostnames`,
//! `replica-announce-ip`), since pod addresses change. A Sentinel and a Redis pod that
//! (re)start ask the running Sentinels for the current master first, so that after a
//! failover the old master comes back as a replica of the new one rather than as a second
//! master. Each Sentinel keeps an id derived from its name across restarts. Clients must
//! ask Sentinel for the master: the Service `sdc-redis` keeps pointing at `sdc-redis-0`,
//! which is a replica after a failover. The Sysdig backend does with the JVM options that
//! [`backend_jvm_options`] returns (`-Ddraios.redis.useSentinel=true ...`).
//!
//! # Adopting sdc-kubernetes' Redis
//!
//! Names, labels (`app: sysdigcloud`, `role: redis` / `redis-slave`), Services, ports,
//! ConfigMaps and the claim template `data` mounted at `/data` are the original's, so the
//! PVCs `data-sdc-redis-0` and `data-sdc-redis-slave-N` are used again and Redis 7 loads
//! the original's append-only file. The StatefulSets cannot be updated in place: the
//! original `sdc-redis` selected `app: sysdigcloud` only (which matched every pod of the
//! namespace) and the claim template's storage class changes (set `storage_class` to
//! keep the original's); delete both with `kubectl delete sts --cascade=orphan` before
//! applying. The container is `redis` (the original's `redis-cluster`, from a personal
//! image, was not a cluster).
//!
//! # Security
//!
//! Every container runs as `redis` (uid 999) with a read-only root filesystem, all
//! capabilities dropped, no privilege escalation and the RuntimeDefault seccomp profile;
//! Redis writes to its volume and `/run/redis` (in memory), Sentinel to an emptyDir. No
//! API token is mounted.

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource, ExecAction,
    ObjectFieldSelector, PersistentVolumeClaim, PodSpec, Probe, Secret, SecretKeySelector, Service, ServicePort,
    Volume,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use runway_core::refs::ExternalRef;
use runway_core::{Error, Object};
use serde::Serialize;

pub use self::params::{given_password, RedisMode, SdcRedisParams, SentinelParams, DEFAULT_IMAGE, SECRETS_COMPONENT};
use crate::common::meta;
use crate::common::pdb::{self, Budget};
use crate::common::pod::{container_security, pod_security};
use crate::common::pod::{mount, read_only_mount};
use crate::common::service::{tcp_port, PodService, ServiceKind};
use crate::common::template::render_template;
use crate::component::{Component, ObjectDoc};
use crate::context::Context;
use crate::sdc;
use crate::sdc::{Checksums, DatastoreSet};

/// The master's StatefulSet and headless Service.
pub const MASTER: &str = sdc::services::REDIS;
/// The replicas' StatefulSet, headless Service and PodDisruptionBudget.
pub const REPLICA: &str = sdc::services::REDIS_READ;
/// The Sentinels' StatefulSet, headless Service and PodDisruptionBudget.
pub const SENTINEL: &str = sdc::services::REDIS_SENTINEL;
/// The master's ConfigMap (the original's).
pub const MASTER_CONFIG: &str = "sysdigcloud-redis-config";
/// The replicas' ConfigMap (the original's).
pub const REPLICA_CONFIG: &str = "sysdigcloud-redis-config-slave";
/// The Sentinels' ConfigMap.
pub const SENTINEL_CONFIG: &str = "sysdigcloud-redis-config-sentinel";
/// The `role` label of the master.
pub const MASTER_ROLE: &str = "redis";
/// The `role` label of the replicas.
pub const REPLICA_ROLE: &str = "redis-slave";
/// The `role` label of the Sentinels.
pub const SENTINEL_ROLE: &str = "redis-sentinel";
/// Redis's port.
pub const PORT: i32 = sdc::services::REDIS_PORT as i32;
/// The cluster bus port the original published (`gossip`); nothing listens on it.
pub const BUS_PORT: i32 = 16379;
/// Sentinel's port.
pub const SENTINEL_PORT: i32 = sdc::services::REDIS_SENTINEL_PORT as i32;

/// uid and gid of `redis` in the official image.
const REDIS_UID: i64 = 999;
/// Where the ConfigMap is mounted (the original's `/conf`).
const CONFIG_DIR: &str = "/conf";
/// The in-memory volume the runtime configuration (with the password) is written to.
const RUN_DIR: &str = "/run/redis";
const CONTAINER: &str = "redis";
const SENTINEL_CONTAINER: &str = "sentinel";
const SCRIPT_MODE: i32 = 0o555;

const REDIS_CONF_TEMPLATE: &str = include_str!("templates/redis.conf.j2");
const START_TEMPLATE: &str = include_str!("templates/start.sh.j2");
const SENTINEL_CONF_TEMPLATE: &str = include_str!("templates/sentinel.conf.j2");
const SENTINEL_SH_TEMPLATE: &str = include_str!("templates/sentinel.sh.j2");

/// The Sysdig backend's Redis component.
pub struct SdcRedis;

impl Component for SdcRedis {
    const NAME: &'static str = "sdc_redis";
    const SUMMARY: &'static str =
        "Redis 7.4 for the Sysdig backend: master sdc-redis, replicas sdc-redis-slave, password enforced, optional Sentinel";
    const DEFAULT_ENABLED: bool = false;
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc {
            key: "secret",
            kind: "Secret",
            doc: "`sdc-redis`: redis-password (only from `--secrets-file`; else external)",
        },
        ObjectDoc {
            key: "config",
            kind: "ConfigMap",
            doc: "`sysdigcloud-redis-config`: the master's redis.conf and start.sh (no password)",
        },
        ObjectDoc {
            key: "slaveConfig",
            kind: "ConfigMap",
            doc: "`sysdigcloud-redis-config-slave`: the replicas' redis.conf and start.sh (no password)",
        },
        ObjectDoc { key: "svc", kind: "Service", doc: "`sdc-redis`: headless, the master, 6379 and 16379" },
        ObjectDoc {
            key: "slaveSvc",
            kind: "Service",
            doc: "`sdc-redis-slave`: headless, the replicas, 6379 and 16379",
        },
        ObjectDoc { key: "sts", kind: "StatefulSet", doc: "`sdc-redis`: the master, one pod" },
        ObjectDoc { key: "slaveSts", kind: "StatefulSet", doc: "`sdc-redis-slave`: the replicas" },
        ObjectDoc {
            key: "slaveDisruptionBudget",
            kind: "PodDisruptionBudget",
            doc: "`sdc-redis-slave`: one replica down at a time",
        },
        ObjectDoc {
            key: "sentinel.config",
            kind: "ConfigMap",
            doc: "`sysdigcloud-redis-config-sentinel`: sentinel.conf and sentinel.sh (`mode: sentinel`)",
        },
        ObjectDoc {
            key: "sentinel.svc",
            kind: "Service",
            doc: "`sdc-redis-sentinel`: headless, the Sentinels, 26379 (`mode: sentinel`)",
        },
        ObjectDoc {
            key: "sentinel.sts",
            kind: "StatefulSet",
            doc: "`sdc-redis-sentinel`: the Sentinels (`mode: sentinel`)",
        },
        ObjectDoc {
            key: "sentinel.disruptionBudget",
            kind: "PodDisruptionBudget",
            doc: "`sdc-redis-sentinel`: keeps a majority of the Sentinels up (`mode: sentinel`)",
        },
        ObjectDoc {
            key: "networkPolicy",
            kind: "NetworkPolicy",
            doc: "`sdc-redis`: from the backend and the replicas",
        },
        ObjectDoc {
            key: "slaveNetworkPolicy",
            kind: "NetworkPolicy",
            doc: "`sdc-redis-slave`: replication from the master",
        },
        ObjectDoc {
            key: "sentinel.networkPolicy",
            kind: "NetworkPolicy",
            doc: "`sdc-redis-sentinel`: watches the master and replicas",
        },
    ];
    type Params = SdcRedisParams;

    fn externals(_: &SdcRedisParams, cx: &Context) -> Vec<ExternalRef> {
        match given_password(cx.secrets_of(SECRETS_COMPONENT)) {
            Ok(Some(_)) => Vec::new(),
            _ => vec![("Secret".to_string(), sdc::NAMESPACE.to_string(), sdc::secrets::REDIS.to_string())],
        }
    }

    fn network(_: &SdcRedisParams, _: &Context) -> Vec<crate::network::Flows> {
        use crate::network::Flows;
        // After a Sentinel failover the roles swap, so both sides reach both Services.
        vec![
            Flows::new("sts", "networkPolicy").to_local(MASTER, PORT).to_local(REPLICA, PORT),
            Flows::new("slaveSts", "slaveNetworkPolicy").to_local(MASTER, PORT).to_local(REPLICA, PORT),
            Flows::new("sentinel.sts", "sentinel.networkPolicy")
                .to_local(MASTER, PORT)
                .to_local(REPLICA, PORT)
                .to_local(SENTINEL, SENTINEL_PORT),
        ]
    }

    fn waivers(_: &SdcRedisParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        vec![
            Waiver::new("sts", Check::HighUid, "the redis image's data directory belongs to uid 999"),
            Waiver::new("sts", Check::SecretsAsEnv, "redis-server and redis-cli take the password from the environment (REDISCLI_AUTH), never the command line"),
            Waiver::new("slaveSts", Check::HighUid, "the redis image's data directory belongs to uid 999"),
            Waiver::new("slaveSts", Check::SecretsAsEnv, "redis-server and redis-cli take the password from the environment (REDISCLI_AUTH), never the command line"),
            Waiver::new("sentinel.sts", Check::HighUid, "the redis image's data directory belongs to uid 999"),
            Waiver::new("sentinel.sts", Check::SecretsAsEnv, "redis-server and redis-cli take the password from the environment (REDISCLI_AUTH), never the command line"),
        ]
    }

    fn build(p: &SdcRedisParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let password = given_password(cx.secrets_of(SECRETS_COMPONENT))?;
        let secret_data = password.map(|v| BTreeMap::from([(sdc::secrets::REDIS_PASSWORD.to_string(), v)]));
        let secret_sum = secret_data.as_ref().map(sdc::data_checksum);
        let master_data = redis_config_data(p, false)?;
        let replica_data = redis_config_data(p, true)?;
        let sums = |data: &BTreeMap<String, String>| Checksums {
            config: sdc::data_checksum(data),
            secret: secret_sum.clone(),
        };

        let n = Self::NAME;
        let mut objects = Vec::new();
        if let Some(data) = &secret_data {
            objects.push(Object::new(n, "secret", &secret(data)));
        }
        objects.extend([
            Object::new(n, "config", &config_map(MASTER_CONFIG, MASTER_ROLE, master_data.clone())),
            Object::new(n, "slaveConfig", &config_map(REPLICA_CONFIG, REPLICA_ROLE, replica_data.clone())),
            Object::new(n, "svc", &headless_service(MASTER, MASTER_ROLE, redis_service_ports())),
            Object::new(n, "slaveSvc", &headless_service(REPLICA, REPLICA_ROLE, redis_service_ports())),
            Object::new(n, "sts", &redis_stateful_set(p, cx, false, &sums(&master_data))),
            Object::new(n, "slaveSts", &redis_stateful_set(p, cx, true, &sums(&replica_data))),
            Object::new(n, "slaveDisruptionBudget", &disruption_budget(REPLICA, REPLICA_ROLE, None)),
        ]);
        if p.sentinel_mode() {
            let sentinel_data = sentinel_config_data(p)?;
            let s = &p.sentinel;
            objects.extend([
                Object::new(n, "sentinel.config", &config_map(SENTINEL_CONFIG, SENTINEL_ROLE, sentinel_data.clone())),
                Object::new(n, "sentinel.svc", &headless_service(SENTINEL, SENTINEL_ROLE, sentinel_service_ports())),
                Object::new(n, "sentinel.sts", &sentinel_stateful_set(p, cx, &sums(&sentinel_data))),
                Object::new(
                    n,
                    "sentinel.disruptionBudget",
                    &disruption_budget(SENTINEL, SENTINEL_ROLE, Some(s.min_available())),
                ),
            ]);
        }
        Ok(objects)
    }
}

/// The JVM options the Sysdig backend (`sdc-api`, `sdc-collector`, `sdc-worker`) needs to
/// find the master through Sentinel, as Sysdig documents them, or `None` in `standalone`
/// mode (the backend then uses `redis.endpoint`, `sdc-redis`).
pub fn backend_jvm_options(p: &SdcRedisParams) -> Option<String> {
    p.sentinel_mode().then(|| {
        format!(
            "-Ddraios.redis.useSentinel=true -Ddraios.redis.master={} -Ddraios.redis.sentinels.0={}.{}.svc:{}",
            p.sentinel.master_name,
            SENTINEL,
            sdc::NAMESPACE,
            SENTINEL_PORT
        )
    })
}

/// The master's DNS name, which replicas replicate from (and Sentinel starts with).
pub fn master_host() -> String {
    format!("{MASTER}-0.{MASTER}.{}.svc", sdc::NAMESPACE)
}

#[derive(Serialize)]
struct RedisContext<'a> {
    name: &'a str,
    service: &'a str,
    namespace: &'a str,
    config_map: &'a str,
    secret: &'a str,
    replica: bool,
    sentinel: bool,
    sentinel_auth: bool,
    sentinel_host: String,
    sentinel_port: i32,
    master_name: &'a str,
    default_master: String,
    replicaof_note: String,
    config_dir: &'a str,
    run_dir: &'a str,
    port: i32,
    bus_port: i32,
    maxmemory: Option<u64>,
}

/// `redis.conf` and `start.sh` of the master or the replicas.
fn redis_config_data(p: &SdcRedisParams, replica: bool) -> Result<BTreeMap<String, String>, Error> {
    let (name, config_map) = if replica { (REPLICA, REPLICA_CONFIG) } else { (MASTER, MASTER_CONFIG) };
    let default_master = if replica { master_host() } else { String::new() };
    let replicaof_note = match (p.sentinel_mode(), replica) {
        (true, true) => format!(
            "the master the Sentinels know (after a failover it may be any pod,\n#   this one included), else {default_master}."
        ),
        (true, false) => "the master the Sentinels know (after a failover it may be any pod);\n#   none when it is this pod or no Sentinel answers: this pod is the master.".to_string(),
        (false, true) => format!("{default_master}, the master."),
        (false, false) => "none: this pod is the master.".to_string(),
    };
    let cx = RedisContext {
        name,
        service: name,
        namespace: sdc::NAMESPACE,
        config_map,
        secret: sdc::secrets::REDIS,
        replica,
        sentinel: p.sentinel_mode(),
        sentinel_auth: p.sentinel.require_auth,
        sentinel_host: format!("{SENTINEL}.{}.svc", sdc::NAMESPACE),
        sentinel_port: SENTINEL_PORT,
        master_name: &p.sentinel.master_name,
        default_master,
        replicaof_note,
        config_dir: CONFIG_DIR,
        run_dir: RUN_DIR,
        port: PORT,
        bus_port: BUS_PORT,
        maxmemory: p.maxmemory_bytes(),
    };
    Ok(BTreeMap::from([
        ("redis.conf".to_string(), render_template("redis.conf.j2", REDIS_CONF_TEMPLATE, &cx)?),
        ("start.sh".to_string(), render_template("start.sh.j2", START_TEMPLATE, &cx)?),
    ]))
}

/// `sentinel.conf` and `sentinel.sh`.
fn sentinel_config_data(p: &SdcRedisParams) -> Result<BTreeMap<String, String>, Error> {
    let s = &p.sentinel;
    let cx = serde_json::json!({
        "name": SENTINEL,
        "service": SENTINEL,
        "namespace": sdc::NAMESPACE,
        "secret": sdc::secrets::REDIS,
        "master_name": s.master_name,
        "default_master": master_host(),
        "port": PORT,
        "sentinel_port": SENTINEL_PORT,
        "quorum": s.quorum,
        "down_after": s.down_after_milliseconds,
        "failover_timeout": s.failover_timeout_milliseconds,
        "require_auth": s.require_auth,
        "config_dir": CONFIG_DIR,
    });
    Ok(BTreeMap::from([
        ("sentinel.conf".to_string(), render_template("sentinel.conf.j2", SENTINEL_CONF_TEMPLATE, &cx)?),
        ("sentinel.sh".to_string(), render_template("sentinel.sh.j2", SENTINEL_SH_TEMPLATE, &cx)?),
    ]))
}

fn metadata(name: &str, role: &str) -> ObjectMeta {
    meta::namespaced(name, sdc::NAMESPACE, sdc::labels(role))
}

fn secret(data: &BTreeMap<String, String>) -> Secret {
    Secret {
        metadata: metadata(sdc::secrets::REDIS, MASTER_ROLE),
        type_: Some("Opaque".into()),
        data: Some(data.iter().map(|(k, v)| (k.clone(), ByteString(v.as_bytes().to_vec()))).collect()),
        ..Default::default()
    }
}

fn config_map(name: &str, role: &str, data: BTreeMap<String, String>) -> ConfigMap {
    ConfigMap { metadata: metadata(name, role), data: Some(data), ..Default::default() }
}

fn service_port(name: &str, port: i32) -> ServicePort {
    tcp_port(name, port, name)
}

/// The original's ports: `client` 6379 and `gossip` 16379.
fn redis_service_ports() -> Vec<ServicePort> {
    vec![service_port("client", PORT), service_port("gossip", BUS_PORT)]
}

fn sentinel_service_ports() -> Vec<ServicePort> {
    vec![service_port("sentinel", SENTINEL_PORT)]
}

/// A headless Service (the StatefulSet's `serviceName`); ready pods only.
fn headless_service(name: &str, role: &str, ports: Vec<ServicePort>) -> Service {
    PodService { kind: ServiceKind::Headless, selector: sdc::selector_labels(role), ports }.build(metadata(name, role))
}

/// `maxUnavailable: 1`, or `minAvailable` when given.
fn disruption_budget(name: &str, role: &str, min_available: Option<u32>) -> PodDisruptionBudget {
    let budget = match min_available {
        Some(m) => Budget::MinAvailable(i32::try_from(m).unwrap_or(i32::MAX)),
        None => Budget::MaxUnavailable(1),
    };
    pdb::disruption_budget(metadata(name, role), budget, sdc::selector(role))
}

fn container_port(name: &str, port: i32) -> ContainerPort {
    ContainerPort { name: Some(name.into()), container_port: port, protocol: Some("TCP".into()), ..Default::default() }
}

fn empty_dir(name: &str, in_memory: bool) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource { medium: in_memory.then(|| "Memory".to_string()), ..Default::default() }),
        ..Default::default()
    }
}

fn config_map_volume(config_map: &str) -> Volume {
    Volume {
        name: "config".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: config_map.into(),
            default_mode: Some(SCRIPT_MODE),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `POD_NAME` (its DNS name is announced) and `REDISCLI_AUTH`, the password, which
/// `start.sh` writes into the configuration and `redis-cli` authenticates with.
fn redis_env() -> Vec<EnvVar> {
    vec![
        EnvVar {
            name: "POD_NAME".into(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    api_version: Some("v1".into()),
                    field_path: "metadata.name".into(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
        EnvVar {
            name: "REDISCLI_AUTH".into(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: sdc::secrets::REDIS.into(),
                    key: sdc::secrets::REDIS_PASSWORD.into(),
                    optional: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
    ]
}

/// A probe running `redis-cli ... ping` in a shell; the reply must match `accept`.
fn ping_probe(cli: &str, accept: &str, period: i32, failures: i32) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(vec!["sh".into(), "-c".into(), format!("{cli} ping | grep -Eq '{accept}'")]),
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        ..Default::default()
    }
}

struct StsSpec<'a> {
    name: &'a str,
    role: &'a str,
    replicas: i32,
    parallel: bool,
    container: Container,
    volumes: Vec<Volume>,
    avoid: &'a [(&'a str, i32)],
    annotations: BTreeMap<String, String>,
    claims: Option<Vec<PersistentVolumeClaim>>,
    grace_seconds: i64,
}

fn stateful_set(cx: &Context, s: StsSpec) -> StatefulSet {
    let (affinity, spread) = sdc::placement(s.role, s.avoid, cx);
    let pod = PodSpec {
        automount_service_account_token: Some(false),
        security_context: Some(pod_security(REDIS_UID, REDIS_UID, REDIS_UID)),
        termination_grace_period_seconds: Some(s.grace_seconds),
        affinity: Some(affinity),
        topology_spread_constraints: Some(spread),
        containers: vec![s.container],
        volumes: Some(s.volumes),
        ..Default::default()
    };
    DatastoreSet {
        name: s.name,
        namespace: sdc::NAMESPACE,
        role: s.role,
        replicas: s.replicas,
        pod_management_policy: if s.parallel { "Parallel" } else { "OrderedReady" },
        retain_claims: false,
        annotations: s.annotations,
        pod,
        claims: s.claims,
    }
    .build()
}

/// The master (`replica: false`) or the replicas. Readiness needs `PONG`; liveness
/// accepts `LOADING` too, while a large append-only file loads.
fn redis_stateful_set(p: &SdcRedisParams, cx: &Context, replica: bool, sums: &Checksums) -> StatefulSet {
    let cli = format!("redis-cli -h 127.0.0.1 -p {PORT}");
    let container = Container {
        name: CONTAINER.into(),
        image: Some(p.image.clone()),
        command: Some(vec!["sh".into(), format!("{CONFIG_DIR}/start.sh")]),
        env: Some(redis_env()),
        ports: Some(vec![container_port("client", PORT), container_port("gossip", BUS_PORT)]),
        resources: Some(p.resources.to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(vec![mount("data", "/data"), read_only_mount("config", CONFIG_DIR), mount("run", RUN_DIR)]),
        startup_probe: Some(ping_probe(&cli, "^(PONG|LOADING)", 5, 60)),
        liveness_probe: Some(ping_probe(&cli, "^(PONG|LOADING)", 10, 3)),
        readiness_probe: Some(ping_probe(&cli, "^PONG$", 5, 3)),
        ..Default::default()
    };
    let (name, role, config, replicas, avoid): (&str, &str, &str, i32, &[(&str, i32)]) = if replica {
        (
            REPLICA,
            REPLICA_ROLE,
            REPLICA_CONFIG,
            i32::try_from(p.replicas).unwrap_or(i32::MAX),
            &[(REPLICA_ROLE, 100), (MASTER_ROLE, 50)],
        )
    } else {
        (MASTER, MASTER_ROLE, MASTER_CONFIG, 1, &[(MASTER_ROLE, 100)])
    };
    stateful_set(
        cx,
        StsSpec {
            name,
            role,
            replicas,
            parallel: false,
            container,
            volumes: vec![config_map_volume(config), empty_dir("run", true)],
            avoid,
            annotations: sums.pod_annotations(CONTAINER),
            claims: Some(vec![sdc::data_claim_template(&p.storage_class, &p.storage)]),
            // Room to write the append-only file on shutdown.
            grace_seconds: 60,
        },
    )
}

fn sentinel_stateful_set(p: &SdcRedisParams, cx: &Context, sums: &Checksums) -> StatefulSet {
    let s = &p.sentinel;
    let unauth = if s.require_auth { "" } else { "env -u REDISCLI_AUTH " };
    let cli = format!("{unauth}redis-cli -h 127.0.0.1 -p {SENTINEL_PORT}");
    let container = Container {
        name: SENTINEL_CONTAINER.into(),
        image: Some(p.image.clone()),
        command: Some(vec!["sh".into(), format!("{CONFIG_DIR}/sentinel.sh")]),
        env: Some(redis_env()),
        ports: Some(vec![container_port("sentinel", SENTINEL_PORT)]),
        resources: Some(s.resources.to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(vec![mount("data", "/data"), read_only_mount("config", CONFIG_DIR)]),
        readiness_probe: Some(ping_probe(&cli, "^PONG$", 5, 3)),
        liveness_probe: Some(ping_probe(&cli, "^PONG$", 10, 3)),
        ..Default::default()
    };
    stateful_set(
        cx,
        StsSpec {
            name: SENTINEL,
            role: SENTINEL_ROLE,
            replicas: i32::try_from(s.replicas).unwrap_or(i32::MAX),
            parallel: true,
            container,
            // The configuration Sentinel rewrites, and its working directory; in memory,
            // since it holds the password.
            volumes: vec![config_map_volume(SENTINEL_CONFIG), empty_dir("data", true)],
            avoid: &[(SENTINEL_ROLE, 100)],
            annotations: sums.pod_annotations(SENTINEL_CONTAINER),
            claims: None,
            grace_seconds: 30,
        },
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::process::Command;

    use super::*;
    use crate::common::pod::Resources;
    use crate::common::testing::{self as testing, data_file as file};
    use crate::common::testing::{find, path_of};
    use crate::quantity::Quantity;
    use crate::Stack;

    const PW: &str = "s3cret-Redis-pw";

    fn secrets_cx(pw: &str) -> Context {
        let mut cx = Context::default();
        cx.secrets.insert(
            SECRETS_COMPONENT.into(),
            BTreeMap::from([
                (sdc::secrets::REDIS_PASSWORD.to_string(), pw.to_string()),
                (sdc::secrets::MYSQL_ROOT_PASSWORD.to_string(), "not-redis".to_string()),
            ]),
        );
        cx
    }

    fn sentinel() -> SdcRedisParams {
        with(|p| p.mode = RedisMode::Sentinel)
    }

    fn with(f: impl FnOnce(&mut SdcRedisParams)) -> SdcRedisParams {
        testing::with(f)
    }

    fn build(p: &SdcRedisParams) -> Vec<Object> {
        SdcRedis::build(p, &Context::default()).expect("parameters build")
    }

    fn error_of(p: &SdcRedisParams) -> Error {
        SdcRedis::build(p, &Context::default()).expect_err("parameters are rejected")
    }

    fn keys(objects: &[Object]) -> Vec<(&str, &str, &str)> {
        objects.iter().map(|o| (o.key.as_str(), o.kind(), o.name())).collect()
    }

    const STANDALONE_OBJECTS: [(&str, &str, &str); 7] = [
        ("config", "ConfigMap", "sysdigcloud-redis-config"),
        ("slaveConfig", "ConfigMap", "sysdigcloud-redis-config-slave"),
        ("svc", "Service", "sdc-redis"),
        ("slaveSvc", "Service", "sdc-redis-slave"),
        ("sts", "StatefulSet", "sdc-redis"),
        ("slaveSts", "StatefulSet", "sdc-redis-slave"),
        ("slaveDisruptionBudget", "PodDisruptionBudget", "sdc-redis-slave"),
    ];

    #[test]
    fn default_build_has_the_originals_names_and_keys() {
        let objects = build(&SdcRedisParams::default());
        assert_eq!(keys(&objects), STANDALONE_OBJECTS);
        for o in &objects {
            assert_eq!(o.namespace(), "sysdigcloud", "{}", o.key);
            assert_eq!(o.value["metadata"]["labels"]["app"], "sysdigcloud", "{}", o.key);
        }
        let master = &find(&objects, "sts").value["spec"];
        assert_eq!(master["replicas"], 1);
        assert_eq!(master["selector"]["matchLabels"], serde_json::json!({"app": "sysdigcloud", "role": "redis"}));
        let replicas = &find(&objects, "slaveSts").value["spec"];
        assert_eq!(replicas["replicas"], 2);
        assert_eq!(
            replicas["selector"]["matchLabels"],
            serde_json::json!({"app": "sysdigcloud", "role": "redis-slave"})
        );
        for key in ["sts", "slaveSts"] {
            let spec = &find(&objects, key).value["spec"];
            let c = &spec["template"]["spec"]["containers"][0];
            assert_eq!(c["image"], "redis:7.4.11-bookworm");
            assert_eq!(c["command"], serde_json::json!(["sh", "/conf/start.sh"]));
            let vct = &spec["volumeClaimTemplates"];
            assert_eq!(vct.as_array().map(Vec::len), Some(1));
            assert_eq!(vct[0]["metadata"], serde_json::json!({"name": "data"}));
            assert_eq!(vct[0]["spec"]["storageClassName"], sdc::storage::STANDARD);
            assert_eq!(vct[0]["spec"]["resources"]["requests"]["storage"], "1Gi");
            let mounts = c["volumeMounts"].as_array().expect("mounts");
            assert!(mounts.iter().any(|m| m["name"] == "data" && m["mountPath"] == "/data"));
        }
    }

    #[test]
    fn services_are_headless_with_the_originals_ports_and_own_role() {
        let objects = build(&sentinel());
        for (svc, sts, ports) in [
            ("svc", "sts", vec![("client", 6379), ("gossip", 16379)]),
            ("slaveSvc", "slaveSts", vec![("client", 6379), ("gossip", 16379)]),
            ("sentinel.svc", "sentinel.sts", vec![("sentinel", 26379)]),
        ] {
            let spec = &find(&objects, svc).value["spec"];
            assert_eq!(spec["clusterIP"], "None", "{svc}");
            let got: Vec<(&str, i64)> = spec["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| (p["name"].as_str().unwrap_or(""), p["port"].as_i64().unwrap_or(0)))
                .collect();
            assert_eq!(got, ports, "{svc}");
            let selector = spec["selector"].as_object().expect("selector");
            for other in ["sts", "slaveSts", "sentinel.sts"] {
                let labels = &find(&objects, other).value["spec"]["template"]["metadata"]["labels"];
                let matches = selector.iter().all(|(k, v)| labels.get(k) == Some(v));
                assert_eq!(matches, other == sts, "{svc} selecting {other}");
            }
            // Every Service port has a container port of that name.
            let c = &find(&objects, sts).value["spec"]["template"]["spec"]["containers"][0];
            for (name, _) in &ports {
                assert!(c["ports"].as_array().into_iter().flatten().any(|p| p["name"] == *name), "{sts}: {name}");
            }
            assert_eq!(find(&objects, sts).value["spec"]["serviceName"], find(&objects, svc).value["metadata"]["name"]);
        }
    }

    #[test]
    fn password_is_enforced_from_the_secret_and_in_no_config_map() {
        let objects = SdcRedis::build(&sentinel(), &secrets_cx(PW)).expect("builds");
        let secret = find(&objects, "secret");
        assert_eq!(secret.name(), "sdc-redis");
        assert_eq!(
            secret.value["data"].as_object().map(|d| d.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["redis-password".to_string()])
        );
        for o in objects.iter().filter(|o| o.kind() != "Secret") {
            assert!(!o.value.to_string().contains(PW), "{} holds the password", o.key);
            assert!(!o.value.to_string().contains("not-redis"), "{}", o.key);
        }
        for o in objects.iter().filter(|o| o.kind() == "ConfigMap") {
            for (k, v) in o.value["data"].as_object().expect("data") {
                assert!(!k.contains("password"), "{}: {k}", o.key);
                // No literal requirepass value in a config file: only start.sh appends it.
                if k.ends_with(".conf") {
                    assert!(!v.as_str().unwrap_or("").lines().any(|l| l.starts_with("requirepass")), "{k}");
                }
            }
        }
        for key in ["sts", "slaveSts", "sentinel.sts"] {
            let tpl = &find(&objects, key).value["spec"]["template"];
            let c = &tpl["spec"]["containers"][0];
            let auth = c["env"].as_array().into_iter().flatten().find(|e| e["name"] == "REDISCLI_AUTH").expect("env");
            assert_eq!(
                auth["valueFrom"]["secretKeyRef"],
                serde_json::json!({"name": "sdc-redis", "key": "redis-password"}),
                "{key}"
            );
            assert_eq!(tpl["metadata"]["annotations"]["checksum/secret"].as_str().map(str::len), Some(64));
            assert_eq!(tpl["metadata"]["annotations"]["checksum/config"].as_str().map(str::len), Some(64));
        }
        for (key, script) in [("config", "start.sh"), ("slaveConfig", "start.sh")] {
            let s = file(&objects, key, script);
            assert!(s.contains("printf 'requirepass %s\\n' \"$password\""), "{s}");
            assert!(s.contains("printf 'masterauth %s\\n' \"$password\""), "{s}");
            assert!(s.contains("password=$(quoted \"$REDISCLI_AUTH\")"), "{s}");
        }
    }

    #[test]
    fn secret_is_rendered_from_the_secrets_file_or_declared_external() {
        let ext = SdcRedis::externals(&SdcRedisParams::default(), &Context::default());
        assert_eq!(ext, [("Secret".to_string(), "sysdigcloud".to_string(), "sdc-redis".to_string())]);
        assert!(SdcRedis::externals(&SdcRedisParams::default(), &secrets_cx(PW)).is_empty());
        let objects = build(&SdcRedisParams::default());
        assert!(objects.iter().all(|o| o.kind() != "Secret"));
        let a = &find(&objects, "sts").value["spec"]["template"]["metadata"]["annotations"];
        assert!(a.get("checksum/secret").is_none());
        for bad in ["", "two words", "line\nbreak"] {
            let e = SdcRedis::build(&SdcRedisParams::default(), &secrets_cx(bad)).expect_err("rejected");
            assert!(e.to_string().contains("`sdc.redis-password`"), "{e}");
        }
        // The MySQL keys of the same block are not Redis's business.
        let mut cx = Context::default();
        cx.secrets.insert(SECRETS_COMPONENT.into(), BTreeMap::from([("license".to_string(), "x".to_string())]));
        assert!(SdcRedis::build(&SdcRedisParams::default(), &cx).expect("builds").iter().all(|o| o.kind() != "Secret"));
    }

    #[test]
    fn probes_ping_with_the_password_from_the_environment() {
        let objects = build(&sentinel());
        for key in ["sts", "slaveSts"] {
            let c = &find(&objects, key).value["spec"]["template"]["spec"]["containers"][0];
            let ready = c["readinessProbe"]["exec"]["command"].as_array().expect("exec");
            assert_eq!(ready[2], "redis-cli -h 127.0.0.1 -p 6379 ping | grep -Eq '^PONG$'", "{key}");
            assert_eq!(
                c["livenessProbe"]["exec"]["command"][2],
                "redis-cli -h 127.0.0.1 -p 6379 ping | grep -Eq '^(PONG|LOADING)'"
            );
            assert!(!c["readinessProbe"].to_string().contains("-a "), "no password on the command line");
        }
        let c = &find(&objects, "sentinel.sts").value["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            c["readinessProbe"]["exec"]["command"][2],
            "redis-cli -h 127.0.0.1 -p 26379 ping | grep -Eq '^PONG$'"
        );
        let open = build(&with(|p| {
            p.mode = RedisMode::Sentinel;
            p.sentinel.require_auth = false;
        }));
        let c = &find(&open, "sentinel.sts").value["spec"]["template"]["spec"]["containers"][0];
        assert!(c["readinessProbe"]["exec"]["command"][2].as_str().unwrap_or("").starts_with("env -u REDISCLI_AUTH "));
    }

    #[test]
    fn sentinel_mode_adds_three_sentinels_with_quorum_two() {
        let objects = build(&sentinel());
        let mut expected = STANDALONE_OBJECTS.to_vec();
        expected.extend([
            ("sentinel.config", "ConfigMap", "sysdigcloud-redis-config-sentinel"),
            ("sentinel.svc", "Service", "sdc-redis-sentinel"),
            ("sentinel.sts", "StatefulSet", "sdc-redis-sentinel"),
            ("sentinel.disruptionBudget", "PodDisruptionBudget", "sdc-redis-sentinel"),
        ]);
        assert_eq!(keys(&objects), expected);
        let sts = &find(&objects, "sentinel.sts").value["spec"];
        assert_eq!(sts["replicas"], 3);
        assert_eq!(sts["serviceName"], "sdc-redis-sentinel");
        assert_eq!(sts["selector"]["matchLabels"]["role"], "redis-sentinel");
        assert!(sts.get("volumeClaimTemplates").is_none());
        assert_eq!(sts["template"]["spec"]["containers"][0]["command"], serde_json::json!(["sh", "/conf/sentinel.sh"]));
        let data = sts["template"]["spec"]["volumes"].as_array().into_iter().flatten().find(|v| v["name"] == "data");
        assert_eq!(data.expect("data")["emptyDir"]["medium"], "Memory");
        assert_eq!(find(&objects, "sentinel.disruptionBudget").value["spec"]["minAvailable"], 2);

        let conf = file(&objects, "sentinel.config", "sentinel.conf");
        for line in [
            "port 26379",
            "sentinel resolve-hostnames yes",
            "sentinel announce-hostnames yes",
            "sentinel monitor sdc-redis @MASTER_HOST@ 6379 2",
            "sentinel down-after-milliseconds sdc-redis 10000",
            "sentinel failover-timeout sdc-redis 60000",
            "sentinel parallel-syncs sdc-redis 1",
        ] {
            assert!(conf.lines().any(|l| l == line), "{line}: {conf}");
        }
        let resolve = conf.find("sentinel resolve-hostnames").expect("resolve");
        assert!(resolve < conf.find("sentinel monitor").expect("monitor"), "hostnames before the monitor line");
        let sh = file(&objects, "sentinel.config", "sentinel.sh");
        assert!(sh.contains("printf 'sentinel auth-pass sdc-redis %s\\n' \"$password\""), "{sh}");
        assert!(sh.contains("printf 'requirepass %s\\n' \"$password\""), "{sh}");
        assert!(sh.contains("sentinel myid $(printf '%s' \"$me\" | sha1sum | cut -c1-40)"), "{sh}");

        // Redis asks the Sentinels for the master in sentinel mode only.
        assert!(file(&objects, "slaveConfig", "start.sh").contains("SENTINEL get-master-addr-by-name sdc-redis"));
        let standalone = build(&SdcRedisParams::default());
        assert!(!file(&standalone, "slaveConfig", "start.sh").contains("SENTINEL"));
        assert_ne!(
            find(&objects, "sts").value["spec"]["template"]["metadata"]["annotations"]["checksum/config"],
            find(&standalone, "sts").value["spec"]["template"]["metadata"]["annotations"]["checksum/config"],
            "switching the mode rolls the Redis pods"
        );

        let five = build(&with(|p| {
            p.mode = RedisMode::Sentinel;
            p.sentinel.replicas = 5;
            p.sentinel.quorum = 3;
            p.sentinel.master_name = "primary".into();
        }));
        assert_eq!(find(&five, "sentinel.sts").value["spec"]["replicas"], 5);
        assert_eq!(find(&five, "sentinel.disruptionBudget").value["spec"]["minAvailable"], 3);
        assert!(
            file(&five, "sentinel.config", "sentinel.conf").contains("sentinel monitor primary @MASTER_HOST@ 6379 3\n")
        );
    }

    #[test]
    fn backend_jvm_options_point_at_sentinel_in_sentinel_mode_only() {
        assert_eq!(backend_jvm_options(&SdcRedisParams::default()), None);
        assert_eq!(
            backend_jvm_options(&sentinel()).as_deref(),
            Some(
                "-Ddraios.redis.useSentinel=true -Ddraios.redis.master=sdc-redis \
                 -Ddraios.redis.sentinels.0=sdc-redis-sentinel.sysdigcloud.svc:26379"
            )
        );
    }

    #[test]
    fn redis_conf_keeps_the_originals_persistence() {
        let objects = build(&SdcRedisParams::default());
        for key in ["config", "slaveConfig"] {
            let conf = file(&objects, key, "redis.conf");
            for line in ["appendonly yes", "port 6379", "dir /data", "replica-read-only yes", "protected-mode yes"] {
                assert!(conf.lines().any(|l| l == line), "{key}: {line}");
            }
            assert!(!conf.lines().any(|l| l.starts_with("cluster-") || l.starts_with("maxmemory")), "{conf}");
            assert!(!conf.lines().any(|l| l.starts_with("replicaof")), "start.sh decides: {conf}");
        }
        let capped = build(&with(|p| p.maxmemory = Some(Quantity::from("512Mi"))));
        let conf = file(&capped, "config", "redis.conf");
        assert!(conf.contains("maxmemory 536870912\nmaxmemory-policy allkeys-lru\n"), "{conf}");
    }

    #[test]
    fn pods_run_locked_down() {
        let objects = build(&sentinel());
        for key in ["sts", "slaveSts", "sentinel.sts"] {
            let spec = &find(&objects, key).value["spec"]["template"]["spec"];
            assert_eq!(spec["automountServiceAccountToken"], false, "{key}");
            assert_eq!(spec["securityContext"]["runAsUser"], 999);
            assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
            assert_eq!(spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
            let c = &spec["containers"][0];
            assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
            assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
            assert_eq!(c["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]));
            assert!(c["resources"]["requests"]["cpu"].is_string() && c["resources"]["limits"]["memory"].is_string());
            assert_eq!(spec["topologySpreadConstraints"][0]["topologyKey"], "topology.kubernetes.io/zone");
            let term = &spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0];
            assert_eq!(term["podAffinityTerm"]["topologyKey"], "kubernetes.io/hostname");
        }
        let run = find(&objects, "sts").value["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == "run")
            .cloned()
            .expect("run");
        assert_eq!(run["emptyDir"]["medium"], "Memory", "the runtime config holds the password: in memory");
    }

    #[test]
    fn parameters_are_validated_with_their_paths() {
        for (p, path) in [
            (with(|p| p.image = "redis 7".into()), "sdc_redis.image"),
            (with(|p| p.storage = Quantity::from("0")), "sdc_redis.storage"),
            (with(|p| p.storage_class = "Standard_SSD".into()), "sdc_redis.storage_class"),
            (with(|p| p.maxmemory = Some(Quantity::from("900Mi"))), "sdc_redis.maxmemory"),
            (with(|p| p.resources = Resources::new("100m", "2Gi", None, "1Gi")), "sdc_redis.resources"),
            (
                with(|p| {
                    p.mode = RedisMode::Sentinel;
                    p.replicas = 0;
                }),
                "sdc_redis.replicas",
            ),
            (
                with(|p| {
                    p.mode = RedisMode::Sentinel;
                    p.sentinel.quorum = 4;
                }),
                "sdc_redis.sentinel.quorum",
            ),
            (
                with(|p| {
                    p.mode = RedisMode::Sentinel;
                    p.sentinel.master_name = "my master".into();
                }),
                "sdc_redis.sentinel.master_name",
            ),
            (
                with(|p| {
                    p.mode = RedisMode::Sentinel;
                    p.sentinel.down_after_milliseconds = 100;
                }),
                "sdc_redis.sentinel.down_after_milliseconds",
            ),
            (
                with(|p| {
                    p.mode = RedisMode::Sentinel;
                    p.sentinel.failover_timeout_milliseconds = 5000;
                }),
                "sdc_redis.sentinel.failover_timeout_milliseconds",
            ),
        ] {
            let e = error_of(&p);
            assert_eq!(path_of(&e), path, "{e}");
            assert!(!e.helps().is_empty(), "{path}");
        }
        // Sentinel settings are only checked in sentinel mode; standalone runs alone.
        build(&with(|p| {
            p.sentinel.quorum = 9;
            p.replicas = 0;
        }));
    }

    #[test]
    fn every_object_round_trips() {
        for p in [SdcRedisParams::default(), sentinel(), with(|p| p.maxmemory = Some(Quantity::from("256Mi")))] {
            for mut o in SdcRedis::build(&p, &secrets_cx(PW)).expect("builds") {
                let before = o.value.clone();
                o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
                assert_eq!(before, o.value, "{} changed in the round trip", o.key);
            }
        }
    }

    #[test]
    fn defaults_serialize_and_read_back() {
        let json = serde_json::to_value(SdcRedisParams::default()).expect("serializes");
        assert_eq!(json["mode"], "standalone");
        assert_eq!(json["sentinel"]["quorum"], 2);
        let back: SdcRedisParams = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, SdcRedisParams::default());
        let p: SdcRedisParams = serde_json::from_value(serde_json::json!({"mode": "sentinel"})).expect("mode");
        assert!(p.sentinel_mode());
        assert!(serde_json::from_value::<SdcRedisParams>(serde_json::json!({"mode": "cluster"})).is_err());
    }

    #[test]
    fn renders_in_a_stack_in_both_modes_with_object_patches() {
        for platform in ["gke", "eks"] {
            for mode in ["standalone", "sentinel"] {
                let mut s = Stack::new();
                s.platform(platform, "test").expect("platform");
                s.set("config.dns_zone=example.com", false).expect("set");
                s.set("platform.components.sdc_redis=true", false).expect("set");
                s.set("platform.components.sdc_storage=true", false).expect("set");
                s.set(&format!("sdc_redis.mode={mode}"), false).expect("set");
                s.secrets("secrets.yaml", "sdc:\n  redis-password: s3cret\n").expect("secrets");
                if mode == "sentinel" {
                    s.layer(
                        "override.yaml",
                        runway_core::SourceKind::File,
                        "sdc_redis:\n  sentinel:\n    quorum: 3\n    replicas: 5\n    sts:\n      metadata:\n        annotations:\n          team: cache\n",
                    )
                    .expect("layer");
                }
                let rendered = s
                    .render(&[&SdcRedis, &crate::sdc_storage::SdcStorage])
                    .unwrap_or_else(|e| panic!("{platform}/{mode}: {}", e.render()));
                let mine: Vec<&Object> = rendered
                    .objects
                    .iter()
                    .filter(|o| o.component == "sdc_redis" && o.kind() != "NetworkPolicy")
                    .collect();
                assert_eq!(mine.len(), if mode == "sentinel" { 12 } else { 8 }, "{platform}/{mode}");
                if mode == "sentinel" {
                    let sts = mine.iter().find(|o| o.key == "sentinel.sts").expect("sentinels");
                    assert_eq!(sts.value["spec"]["replicas"], 5);
                    assert_eq!(sts.value["metadata"]["annotations"]["team"], "cache");
                }
            }
        }
    }

    // The start scripts, run by sh against stand-ins for redis-server, redis-sentinel,
    // redis-cli and getent, in a scratch directory that replaces the pod's paths.

    struct Sandbox {
        dir: PathBuf,
    }

    impl Sandbox {
        fn new(name: &str, objects: &[Object], key: &str) -> Option<Sandbox> {
            if Command::new("sh")
                .arg("-c")
                .arg("command -v sha1sum timeout")
                .output()
                .map_or(true, |o| !o.status.success())
            {
                eprintln!("sh, sha1sum or timeout is missing: skipped");
                return None;
            }
            let dir = std::env::temp_dir().join(format!("runway-sdc-redis-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            for sub in ["conf", "run", "data", "bin"] {
                std::fs::create_dir_all(dir.join(sub)).expect("scratch");
            }
            let root = dir.display().to_string();
            for (f, text) in find(objects, key).value["data"].as_object().expect("data") {
                let text = text
                    .as_str()
                    .expect("text")
                    .replace("/conf/", &format!("{root}/conf/"))
                    .replace("/run/redis/", &format!("{root}/run/"))
                    .replace("/data/sentinel.conf", &format!("{root}/data/sentinel.conf"));
                std::fs::write(dir.join("conf").join(f), text).expect("written");
            }
            // redis-cli answers as $SENTINEL_REPLY says (or fails when it is empty) and
            // logs whether it had the password; the servers log the file they were given.
            let stubs = [
                (
                    "redis-cli",
                    r#"echo "redis-cli $* auth=${REDISCLI_AUTH:+yes}" >> "$LOG"
[ -n "$SENTINEL_REPLY" ] || exit 1
printf '%s\n' "$SENTINEL_REPLY" | tr '|' '\n'"#,
                ),
                ("redis-server", r#"echo "redis-server $*" >> "$LOG"; cp "$1" "$OUT""#),
                ("redis-sentinel", r#"echo "redis-sentinel $*" >> "$LOG"; cp "$1" "$OUT""#),
                ("getent", r#"echo "getent $*" >> "$LOG"; exit 0"#),
            ];
            for (name, body) in stubs {
                let path = dir.join("bin").join(name);
                std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("stub");
                Command::new("chmod").arg("+x").arg(&path).status().expect("chmod");
            }
            Some(Sandbox { dir })
        }

        /// Runs `script` as pod `pod`; returns the configuration the server got and stdout.
        fn run(&self, script: &str, pod: &str, password: &str, sentinel_reply: &str) -> (String, String) {
            let out = Command::new("sh")
                .arg(self.dir.join("conf").join(script))
                .env_clear()
                .env("PATH", format!("{}:/usr/bin:/bin", self.dir.join("bin").display()))
                .env("POD_NAME", pod)
                .env("REDISCLI_AUTH", password)
                .env("SENTINEL_REPLY", sentinel_reply)
                .env("LOG", self.dir.join("calls.log"))
                .env("OUT", self.dir.join("server.conf"))
                .output()
                .expect("sh runs");
            assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
            let conf = std::fs::read_to_string(self.dir.join("server.conf")).unwrap_or_default();
            (conf, String::from_utf8_lossy(&out.stdout).into_owned())
        }

        fn calls(&self) -> String {
            std::fs::read_to_string(self.dir.join("calls.log")).unwrap_or_default()
        }
    }

    impl Drop for Sandbox {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn appended(conf: &str) -> Vec<&str> {
        conf.lines().skip_while(|l| !l.starts_with("# Appended by")).skip(1).collect()
    }

    #[test]
    fn start_script_enforces_the_password_and_replicates_from_the_master() {
        let objects = build(&SdcRedisParams::default());
        let Some(sb) = Sandbox::new("standalone-master", &objects, "config") else { return };
        let (conf, _) = sb.run("start.sh", "sdc-redis-0", PW, "");
        assert!(conf.contains("appendonly yes\n"), "the ConfigMap's redis.conf comes first");
        assert_eq!(
            appended(&conf),
            [
                &format!("requirepass \"{PW}\"") as &str,
                &format!("masterauth \"{PW}\""),
                "replica-announce-ip sdc-redis-0.sdc-redis.sysdigcloud.svc",
            ]
        );
        let calls = sb.calls();
        assert!(calls.contains("redis-server ") && !calls.contains(PW), "{calls}");
        assert!(!calls.contains("redis-cli"), "standalone asks no Sentinel: {calls}");

        let Some(sb) = Sandbox::new("standalone-replica", &objects, "slaveConfig") else { return };
        // Quotes and backslashes in the password are escaped for redis.conf.
        let (conf, _) = sb.run("start.sh", "sdc-redis-slave-1", "a\"b\\c%s", "");
        assert_eq!(
            appended(&conf),
            [
                "requirepass \"a\\\"b\\\\c%s\"",
                "masterauth \"a\\\"b\\\\c%s\"",
                "replica-announce-ip sdc-redis-slave-1.sdc-redis-slave.sysdigcloud.svc",
                "replicaof sdc-redis-0.sdc-redis.sysdigcloud.svc 6379",
            ]
        );
    }

    #[test]
    fn start_script_follows_the_master_the_sentinels_know() {
        let objects = build(&sentinel());
        let Some(sb) = Sandbox::new("sentinel-replica", &objects, "slaveConfig") else { return };
        // No Sentinel answers yet: the default topology.
        let (conf, _) = sb.run("start.sh", "sdc-redis-slave-0", PW, "");
        assert!(appended(&conf).contains(&"replicaof sdc-redis-0.sdc-redis.sysdigcloud.svc 6379"), "{conf}");
        assert!(sb.calls().contains("SENTINEL get-master-addr-by-name sdc-redis auth=yes"), "{}", sb.calls());
        // After a failover to replica 1, replica 0 follows it and replica 1 stays master.
        let promoted = "sdc-redis-slave-1.sdc-redis-slave.sysdigcloud.svc|6379";
        let (conf, _) = sb.run("start.sh", "sdc-redis-slave-0", PW, promoted);
        assert!(
            appended(&conf).contains(&"replicaof sdc-redis-slave-1.sdc-redis-slave.sysdigcloud.svc 6379"),
            "{conf}"
        );
        let (conf, out) = sb.run("start.sh", "sdc-redis-slave-1", PW, promoted);
        assert!(!conf.lines().any(|l| l.starts_with("replicaof")), "{conf}");
        assert!(out.contains("starting as the master"), "{out}");
        // A reply that is not an address is ignored.
        let (conf, _) = sb.run("start.sh", "sdc-redis-slave-0", PW, "NOAUTH Authentication required.");
        assert!(appended(&conf).contains(&"replicaof sdc-redis-0.sdc-redis.sysdigcloud.svc 6379"), "{conf}");

        let Some(sb) = Sandbox::new("sentinel-master", &objects, "config") else { return };
        let (conf, _) = sb.run("start.sh", "sdc-redis-0", PW, "");
        assert!(!conf.lines().any(|l| l.starts_with("replicaof")), "{conf}");
        // The old master comes back as a replica of the promoted one.
        let (conf, _) = sb.run("start.sh", "sdc-redis-0", PW, promoted);
        assert!(appended(&conf).contains(&"replicaof sdc-redis-slave-1.sdc-redis-slave.sysdigcloud.svc 6379"));
    }

    #[test]
    fn sentinel_script_writes_a_stable_identity_and_the_password() {
        let objects = build(&sentinel());
        let Some(sb) = Sandbox::new("sentinel", &objects, "sentinel.config") else { return };
        let (conf, out) = sb.run("sentinel.sh", "sdc-redis-sentinel-2", PW, "");
        assert!(out.contains("monitoring sdc-redis-0.sdc-redis.sysdigcloud.svc"), "{out}");
        assert!(conf.contains("sentinel monitor sdc-redis sdc-redis-0.sdc-redis.sysdigcloud.svc 6379 2\n"), "{conf}");
        let tail = appended(&conf);
        assert_eq!(tail[0], "sentinel announce-ip sdc-redis-sentinel-2.sdc-redis-sentinel.sysdigcloud.svc");
        let id = tail[1].strip_prefix("sentinel myid ").expect("myid");
        assert!(id.len() == 40 && id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        assert_eq!(tail[2..], [format!("sentinel auth-pass sdc-redis \"{PW}\""), format!("requirepass \"{PW}\"")]);
        // The same pod gets the same id; another pod another one.
        let (again, _) = sb.run("sentinel.sh", "sdc-redis-sentinel-2", PW, "");
        assert!(again.contains(&format!("sentinel myid {id}\n")));
        let (other, _) = sb.run("sentinel.sh", "sdc-redis-sentinel-0", PW, "");
        assert!(!other.contains(&format!("sentinel myid {id}\n")));
        // A restarted Sentinel monitors the master its peers know.
        let (conf, _) =
            sb.run("sentinel.sh", "sdc-redis-sentinel-2", PW, "sdc-redis-slave-0.sdc-redis-slave.sysdigcloud.svc|6379");
        assert!(conf.contains("sentinel monitor sdc-redis sdc-redis-slave-0.sdc-redis-slave.sysdigcloud.svc 6379 2\n"));
        assert!(!sb.calls().contains(PW));

        let open = build(&with(|p| {
            p.mode = RedisMode::Sentinel;
            p.sentinel.require_auth = false;
        }));
        let Some(sb) = Sandbox::new("sentinel-open", &open, "sentinel.config") else { return };
        let (conf, _) = sb.run("sentinel.sh", "sdc-redis-sentinel-0", PW, "");
        assert!(!conf.lines().any(|l| l.starts_with("requirepass")), "{conf}");
        assert!(conf.contains(&format!("sentinel auth-pass sdc-redis \"{PW}\"")), "Redis still needs it");
        assert!(sb.calls().contains("get-master-addr-by-name sdc-redis auth="), "{}", sb.calls());
        assert!(!sb.calls().contains("auth=yes"), "no AUTH to a Sentinel without a password: {}", sb.calls());
    }

    #[test]
    fn rendered_scripts_are_valid_shell() {
        for p in [
            SdcRedisParams::default(),
            sentinel(),
            with(|p| {
                p.mode = RedisMode::Sentinel;
                p.sentinel.require_auth = false;
            }),
        ] {
            let objects = build(&p);
            for o in objects.iter().filter(|o| o.kind() == "ConfigMap") {
                for (name, text) in o.value["data"].as_object().expect("data") {
                    let text = text.as_str().unwrap_or("");
                    assert!(!text.contains("{{") && !text.contains("{%"), "{name}");
                    if !name.ends_with(".sh") {
                        continue;
                    }
                    assert!(text.starts_with("#!/bin/sh\n") && text.contains("\nset -eu\n"), "{name}: {text}");
                    let Ok(out) = Command::new("sh").arg("-n").arg("-c").arg(text).output() else { return };
                    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
                }
            }
        }
    }
}
