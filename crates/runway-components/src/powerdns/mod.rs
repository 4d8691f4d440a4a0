//! PowerDNS: the authoritative DNS server external-dns writes the runtime's records to
//! where the platform has no cloud DNS (`onprem`, as BKPR's generic platform), with the
//! MariaDB Galera cluster it keeps its zones in. It renders on any platform it is asked for.
//!
//! # What it renders
//!
//! PowerDNS Authoritative (PowerDNS's own image) with the `gmysql` backend, two pods
//! (`replicas`) sharing the database, so each answers for every record:
//!
//! - the Service `powerdns` (BKPR's, ClusterIP): the HTTP API on 8081 and DNS on 53
//!   (TCP and UDP) inside the cluster;
//! - the Service `powerdns-dns` (LoadBalancer, with the platform's load balancer
//!   annotations): DNS on 53, TCP and UDP, for the resolvers of the site, which the
//!   parent zone delegates to (an NS record for the `nameserver` and a glue record for
//!   this Service's address; pin the address with the load balancer's annotation, e.g.
//!   MetalLB's `metallb.universe.tf/loadBalancerIPs`, under `powerdns.dnsSvc`).
//!
//! PowerDNS listens on 5353 inside the pod (an unprivileged port) and the Services map 53
//! to it. Its configuration (`pdns.conf`, ConfigMap `powerdns`) holds no secret: an init
//! container writes the API key and the database password from the Secret `powerdns` into
//! an in-memory volume that `pdns.conf` includes. A second init container, in the MariaDB
//! image, creates the database `powerdns` and its user, loads the schema that this
//! PowerDNS image ships (`schema.mysql.sql`, copied from the image by the first one, so
//! schema and server always match) when the database is empty, and creates the zone
//! (`zone`, by default `config.dns_zone`) with its SOA and NS records when it is missing:
//! external-dns only writes records into zones that exist.
//!
//! # Wiring external-dns to it
//!
//! PowerDNS publishes nothing. external-dns's `pdns` provider (onprem's
//! `platform.dns_provider`) must use the API at
//!
//! ```text
//! http://powerdns.<namespace>.svc:8081      (http://powerdns.kubeprod.svc:8081 by default)
//! ```
//!
//! which is what `external_dns.pdns.server` defaults to, with the API key from the Secret
//! `powerdns`, key `api_key`, and `--domain-filter` the same zone.
//!
//! # MariaDB Galera
//!
//! The StatefulSet `mariadb-galera` (BKPR's name, keys under `galera`: `powerdns:
//! {galera: {sts: ...}}`), three nodes by default, each with its volume
//! `data-mariadb-galera-N`, on Docker's official MariaDB image (which ships Galera 4,
//! mariadb-backup and socat). `my.cnf` is rendered from a template beside this module.
//! The headless Service `mariadb-galera-headless` gives the nodes their names (and lists
//! them before they are ready, since they must find each other to become ready); the
//! Service `mariadb-galera` reaches the synced nodes only (the readiness check asks for
//! `wsrep_ready` and `wsrep_local_state` 4). The pods start in parallel; a start script
//! decides whether a node joins its peers or founds the cluster (see
//! `templates/galera.sh.j2`): a new cluster is founded by pod 0 when no peer answers; after
//! a clean shutdown of every node, the node that left last founds it again; after a crash
//! of every node none does on its own — each logs its recovered position and waits for
//! `galera.force_bootstrap: N` naming the most advanced one. The PodDisruptionBudget
//! keeps a majority up. A mysqld exporter sidecar is scraped on 9104.
//!
//! # Secrets
//!
//! The Secret `powerdns` holds `api_key` and `db_password`; the Secret `mariadb-galera`
//! holds `root_password` and `mariabackup_password` (both BKPR's). Each is rendered when
//! its keys are in the `powerdns:` block of a secrets file (`--secrets-file`) and is
//! otherwise declared external: create it in the namespace first. The values must not
//! contain whitespace, quotes, `\`, `#` or backticks (they go into configuration files).
//!
//! # Differences from BKPR
//!
//! Kept: the names `powerdns` (Deployment, Service, Secret, ConfigMap), `powerdns-sh`,
//! `mariadb-galera` (StatefulSet, Service, Secret, ConfigMap, ServiceAccount),
//! `mariadb-galera-headless`, the claim template `data`, the container names `pdns`,
//! `setup-db`, `mariadb-galera` and `metrics`, and the object keys `deploy`, `svc`,
//! `secret`, `scripts`, `config`, `galera.sts`, `galera.svc`, `galera.headless`,
//! `galera.secret`, `galera.config`, `galera.sa`. Changed: Bitnami's images are replaced by
//! PowerDNS's and MariaDB's own (Bitnami's are no longer published with versions), so the
//! Galera data (Bitnami's `/bitnami/mariadb`, MariaDB 10.5) is not adopted: delete BKPR's
//! StatefulSet and its PVCs, and external-dns writes the records again into the new zone.
//! BKPR's authenticated Ingress for the PowerDNS webserver and the `mariadb-galera` Role
//! (Bitnami's image read endpoints) are not rendered; DNS is published by the
//! LoadBalancer Service `powerdns-dns`, which BKPR lacked.
//!
//! # Security
//!
//! Every container runs as non-root with RuntimeDefault seccomp, no privilege escalation
//! and a read-only root filesystem; all capabilities are dropped. PowerDNS's container
//! adds back `NET_BIND_SERVICE` only because the image gives `pdns_server` that file
//! capability, and the kernel refuses to execute such a binary when the capability is
//! outside the container's bounding set; PowerDNS itself binds 5353 and needs no
//! privilege (the pod template says so in `runway.dev/security-exception`).

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, StatefulSet, StatefulSetSpec, StatefulSetUpdateStrategy};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, ExecAction,
    HTTPGetAction, KeyToPath, PodSpec, PodTemplateSpec, Probe, Secret, Service, ServiceAccount, ServicePort,
    ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::ByteString;
use runway_core::refs::ExternalRef;
use runway_core::{Error, KeyPath, Object};
use serde::Serialize;
use sha2::{Digest, Sha256};

use self::params::is_dns_name;
pub use self::params::{
    given_secrets, GaleraParams, PowerdnsParams, DEFAULT_EXPORTER_IMAGE, DEFAULT_GALERA_IMAGE, DEFAULT_IMAGE,
    GALERA_SECRET_KEYS, SECRET_KEYS,
};
use crate::common::env::{field_env, secret_env, value_env};
use crate::common::meta;
use crate::common::metrics::{MetricsEndpoint, Scrape};
use crate::common::pdb::{self, Budget};
use crate::common::pod::spread_over_nodes;
use crate::common::pod::{container_security, pod_security, Resources, SECURITY_EXCEPTION_ANNOTATION};
use crate::common::pod::{mount, read_only_mount};
use crate::common::rbac;
use crate::common::service::{load_balancer_metadata, tcp_port, PodService, ServiceKind};
use crate::common::storage::ClaimTemplate;
use crate::common::template::render_template;
use crate::component::{Component, ObjectDoc};
use crate::context::Context;

/// PowerDNS's Deployment, its ClusterIP Service, Secret, ConfigMap and PDB (BKPR's).
pub const NAME: &str = "powerdns";
/// The LoadBalancer Service that publishes DNS to the site.
pub const DNS_SERVICE: &str = "powerdns-dns";
/// The ConfigMap with PowerDNS's init scripts (BKPR's).
pub const SCRIPTS: &str = "powerdns-sh";
/// The API port (BKPR's), on the Service `powerdns`: external-dns's `--pdns-server`.
pub const API_PORT: i32 = 8081;
/// The DNS port the Services publish.
pub const DNS_PORT: i32 = 53;
/// The port PowerDNS listens on for DNS inside the pod (unprivileged).
pub const DNS_CONTAINER_PORT: i32 = 5353;
/// The Galera StatefulSet, its Service, Secret, ConfigMap and ServiceAccount (BKPR's).
pub const GALERA: &str = "mariadb-galera";
/// The Galera headless Service (BKPR's).
pub const GALERA_HEADLESS: &str = "mariadb-galera-headless";
/// The ConfigMap with the Galera start and readiness scripts.
pub const GALERA_SCRIPTS: &str = "mariadb-galera-sh";
/// MariaDB's port.
pub const MYSQL_PORT: i32 = 3306;
/// Galera's replication, incremental and full state transfer ports.
pub const GALERA_PORT: i32 = 4567;
const IST_PORT: i32 = 4568;
const SST_PORT: i32 = 4444;
/// The mysqld exporter's port.
pub const EXPORTER_PORT: i32 = 9104;
/// PowerDNS's database and user.
pub const DATABASE: &str = "powerdns";

const COMPONENT_LABEL: &str = "powerdns";
const PDNS_CONFIG_DIR: &str = "/etc/powerdns/runway";
const PDNS_SECRETS_DIR: &str = "/etc/powerdns/secrets";
const PDNS_SOCKET_DIR: &str = "/var/run/pdns";
const SCHEMA_DIR: &str = "/schema";
/// Where the PowerDNS image installs the gmysql schema (its Dockerfile's docdir).
const SCHEMA_SOURCE: &str = "/usr/local/share/doc/pdns/schema.mysql.sql";
/// uid and gid of `pdns` in PowerDNS's image.
const PDNS_UID: i64 = 953;
/// uid and gid of `mysql` in MariaDB's image.
const MYSQL_UID: i64 = 999;
const MYSQL_HOME: &str = "/var/lib/mysql";
const MYSQL_DATADIR: &str = "/var/lib/mysql/data";
const MYSQL_RUNTIME_DIR: &str = "/etc/mysql/runtime.d";
const WSREP_PROVIDER: &str = "/usr/lib/galera/libgalera_smm.so";
/// BKPR's `MARIADB_GALERA_CLUSTER_NAME`.
const CLUSTER_NAME: &str = "galera";
/// How long a new pod 0 waits for peers holding data before founding a new cluster.
const GRACE_SECONDS: u32 = 60;

const PDNS_CONF_TEMPLATE: &str = include_str!("templates/pdns.conf.j2");
const PREPARE_TEMPLATE: &str = include_str!("templates/prepare.sh.j2");
const SETUP_DB_TEMPLATE: &str = include_str!("templates/setup-db.sh.j2");
const MY_CNF_TEMPLATE: &str = include_str!("templates/my.cnf.j2");
const GALERA_SH_TEMPLATE: &str = include_str!("templates/galera.sh.j2");
const READY_SH_TEMPLATE: &str = include_str!("templates/ready.sh.j2");
const MARIABACKUP_USER_TEMPLATE: &str = include_str!("templates/mariabackup-user.sh.j2");

/// The PowerDNS component.
pub struct Powerdns;

impl Component for Powerdns {
    const NAME: &'static str = "powerdns";
    const SUMMARY: &'static str =
        "PowerDNS authoritative DNS (external-dns's pdns provider on onprem) on a MariaDB Galera cluster";
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc {
            key: "secret",
            kind: "Secret",
            doc: "`powerdns`: api_key, db_password (only from `--secrets-file`; else external)",
        },
        ObjectDoc { key: "config", kind: "ConfigMap", doc: "`powerdns`: pdns.conf (no secrets)" },
        ObjectDoc {
            key: "scripts",
            kind: "ConfigMap",
            doc: "`powerdns-sh`: prepare.sh, setup-db.sh (database, schema, zone)",
        },
        ObjectDoc {
            key: "svc",
            kind: "Service",
            doc: "`powerdns`: API 8081 and DNS 53 in the cluster (external-dns's server)",
        },
        ObjectDoc {
            key: "dnsSvc",
            kind: "Service",
            doc: "`powerdns-dns`: LoadBalancer, DNS 53 TCP and UDP for the site",
        },
        ObjectDoc { key: "deploy", kind: "Deployment", doc: "`powerdns`: the servers, after their database setup" },
        ObjectDoc {
            key: "podMonitor",
            kind: "PodMonitor",
            doc: "scrapes PowerDNS' `api` port (`platform.monitoring: operator` or `both`)",
        },
        ObjectDoc {
            key: "galera.podMonitor",
            kind: "PodMonitor",
            doc: "scrapes the Galera nodes' exporter (`platform.monitoring: operator` or `both`)",
        },
        ObjectDoc { key: "disruptionBudget", kind: "PodDisruptionBudget", doc: "one PowerDNS pod down at a time" },
        ObjectDoc { key: "galera.sa", kind: "ServiceAccount", doc: "`mariadb-galera`: no API token mounted" },
        ObjectDoc {
            key: "galera.secret",
            kind: "Secret",
            doc: "`mariadb-galera`: root_password, mariabackup_password (only from `--secrets-file`; else external)",
        },
        ObjectDoc { key: "galera.config", kind: "ConfigMap", doc: "`mariadb-galera`: my.cnf" },
        ObjectDoc {
            key: "galera.scripts",
            kind: "ConfigMap",
            doc: "`mariadb-galera-sh`: the start script (join or bootstrap), readiness, SST user",
        },
        ObjectDoc {
            key: "galera.svc",
            kind: "Service",
            doc: "`mariadb-galera`: MySQL 3306 on synced nodes, metrics 9104",
        },
        ObjectDoc {
            key: "galera.headless",
            kind: "Service",
            doc: "`mariadb-galera-headless`: node names, unready included; the StatefulSet's serviceName",
        },
        ObjectDoc {
            key: "galera.sts",
            kind: "StatefulSet",
            doc: "`mariadb-galera`: the nodes, with the exporter sidecar",
        },
        ObjectDoc { key: "galera.disruptionBudget", kind: "PodDisruptionBudget", doc: "keeps a majority of nodes up" },
        ObjectDoc {
            key: "networkPolicy",
            kind: "NetworkPolicy",
            doc: "`powerdns`: DNS from anywhere, to the database",
        },
        ObjectDoc {
            key: "galera.networkPolicy",
            kind: "NetworkPolicy",
            doc: "`mariadb-galera`: replication between nodes, SQL from PowerDNS",
        },
    ];
    const DEFAULT_ENABLED: bool = false;
    type Params = PowerdnsParams;

    fn externals(_: &PowerdnsParams, cx: &Context) -> Vec<ExternalRef> {
        let given = cx.secrets_of(Self::NAME);
        let has = |keys: &[&str]| given.is_some_and(|g| keys.iter().any(|k| g.contains_key(*k)));
        let mut out = Vec::new();
        if !has(&SECRET_KEYS) {
            out.push(("Secret".to_string(), cx.namespace().to_string(), NAME.to_string()));
        }
        if !has(&GALERA_SECRET_KEYS) {
            out.push(("Secret".to_string(), cx.namespace().to_string(), GALERA.to_string()));
        }
        out
    }

    fn network(_: &PowerdnsParams, _: &Context) -> Vec<crate::network::Flows> {
        use crate::network::{tcp, udp, Flows};
        vec![
            Flows::new("deploy", "networkPolicy").to_local(GALERA, MYSQL_PORT).from_anywhere(
                &[tcp(DNS_CONTAINER_PORT), udp(DNS_CONTAINER_PORT)],
                "the DNS LoadBalancer's clients: resolvers on the internet or the site",
            ),
            Flows::new("galera.sts", "galera.networkPolicy")
                .to_local(GALERA_HEADLESS, GALERA_PORT)
                .to_local(GALERA_HEADLESS, IST_PORT)
                .to_local(GALERA_HEADLESS, SST_PORT)
                .to_local(GALERA, MYSQL_PORT),
        ]
    }

    fn waivers(_: &PowerdnsParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        vec![
            Waiver::new(
                "deploy",
                Check::HighUid,
                "the image's files and socket directory belong to the pdns user (uid 953)",
            ),
            Waiver::new(
                "deploy",
                Check::AddedCapability,
                "NET_BIND_SERVICE only: PowerDNS binds DNS ports as a non-root user",
            ),
            Waiver::new(
                "deploy",
                Check::SecretsAsEnv,
                "the API key and database password reach the pdns process through its environment (PDNS_* settings)",
            ),
            Waiver::new("galera.sts", Check::HighUid, "the mariadb image's data directory belongs to uid 999"),
            Waiver::new(
                "galera.sts",
                Check::SecretsAsEnv,
                "the mariadb entrypoint and the exporter read their passwords from the environment",
            ),
            Waiver::new(
                "galera.sts",
                Check::ReadinessProbe,
                "the exporter sidecar has no readiness probe on purpose: it must never take a node out of its Services",
            ),
        ]
    }

    fn build(p: &PowerdnsParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let ns = cx.namespace();
        let zone = zone(p, cx)?;
        let nameserver = p.nameserver.clone().unwrap_or_else(|| format!("ns1.{zone}"));
        let hostmaster = format!("hostmaster.{zone}");
        let (pdns_secret, galera_secret) = given_secrets(cx.secrets_of(Self::NAME))?;

        let pdns_conf = render_template(
            "pdns.conf.j2",
            PDNS_CONF_TEMPLATE,
            PdnsConf {
                secret: NAME,
                secrets_dir: PDNS_SECRETS_DIR,
                socket_dir: PDNS_SOCKET_DIR,
                dns_port: DNS_CONTAINER_PORT,
                api_port: API_PORT,
                nameserver: &nameserver,
                hostmaster: &hostmaster,
                db_host: format!("{GALERA}.{ns}.svc"),
                db_port: MYSQL_PORT,
                db_name: DATABASE,
                db_user: DATABASE,
            },
        )?;
        let scripts = pdns_scripts(ns, &zone, &nameserver, &hostmaster)?;
        let my_cnf = render_template(
            "my.cnf.j2",
            MY_CNF_TEMPLATE,
            MyCnf {
                datadir: MYSQL_DATADIR,
                mysql_port: MYSQL_PORT,
                buffer_pool: format!("{}M", p.galera.buffer_pool.mebibytes()),
                wsrep_provider: WSREP_PROVIDER,
                cluster_name: CLUSTER_NAME,
                peers: galera_peers(p.galera.replicas, ns),
                runtime_dir: MYSQL_RUNTIME_DIR,
            },
        )?;
        let galera_scripts = galera_scripts(p, ns)?;
        let pdns_checksum = checksum(&[&pdns_conf, &concat_values(&scripts)]);
        let galera_checksum = checksum(&[&my_cnf, &concat_values(&galera_scripts)]);

        let n = Self::NAME;
        let mut objects = Vec::new();
        if let Some(values) = &pdns_secret {
            objects.push(Object::new(n, "secret", &secret(NAME, ns, labels(), values)));
        }
        objects.extend([
            Object::new(
                n,
                "config",
                &config_map(NAME, ns, labels(), BTreeMap::from([("pdns.conf".into(), pdns_conf)])),
            ),
            Object::new(n, "scripts", &config_map(SCRIPTS, ns, labels(), scripts)),
            Object::new(n, "svc", &pdns_service(ns)),
            Object::new(n, "dnsSvc", &dns_service(cx)),
            Object::new(n, "deploy", &pdns_deployment(p, cx, &pdns_checksum)),
            Object::new(n, "disruptionBudget", &pdns_disruption_budget(ns)),
            Object::new(n, "galera.sa", &galera_service_account(ns)),
        ]);
        if let Some(values) = &galera_secret {
            objects.push(Object::new(n, "galera.secret", &secret(GALERA, ns, galera_labels(), values)));
        }
        objects.extend([
            Object::new(
                n,
                "galera.config",
                &config_map(GALERA, ns, galera_labels(), BTreeMap::from([("my.cnf".into(), my_cnf)])),
            ),
            Object::new(n, "galera.scripts", &config_map(GALERA_SCRIPTS, ns, galera_labels(), galera_scripts)),
            Object::new(n, "galera.svc", &galera_service(ns)),
            Object::new(n, "galera.headless", &galera_headless_service(ns)),
            Object::new(n, "galera.sts", &galera_stateful_set(p, cx, &galera_checksum)),
            Object::new(n, "galera.disruptionBudget", &galera_disruption_budget(p, ns)),
        ]);
        objects.extend(pdns_scrape(ns).monitor(n, "podMonitor", cx));
        objects.extend(galera_scrape(ns).monitor(n, "galera.podMonitor", cx));
        Ok(objects)
    }
}

/// The zone PowerDNS serves: `zone`, else `config.dns_zone`.
fn zone(p: &PowerdnsParams, cx: &Context) -> Result<String, Error> {
    if let Some(z) = &p.zone {
        return Ok(z.clone());
    }
    let Some(z) = cx.config.dns_zone.as_deref().map(|z| z.trim().trim_end_matches('.').to_ascii_lowercase()) else {
        return Err(Error::invalid(
            "`powerdns` serves a zone but neither `powerdns.zone` nor `config.dns_zone` is set",
        )
        .with_path(KeyPath::root().key("config").key("dns_zone"))
        .help("set `config: {dns_zone: example.com}` (or `powerdns: {zone: ...}`)"));
    };
    if !is_dns_name(&z) {
        return Err(Error::invalid(format!("`{z}` is not a DNS name PowerDNS can serve"))
            .with_path(KeyPath::root().key("config").key("dns_zone"))
            .help("write lowercase labels joined by `.`, e.g. `example.com`"));
    }
    Ok(z)
}

/// The API URL external-dns's `pdns` provider uses: `http://powerdns.<namespace>.svc:8081`.
pub fn api_url(cx: &Context) -> String {
    format!("http://{NAME}.{}.svc:{API_PORT}", cx.namespace())
}

fn labels() -> BTreeMap<String, String> {
    meta::labels(NAME, COMPONENT_LABEL)
}

fn galera_labels() -> BTreeMap<String, String> {
    meta::labels(GALERA, COMPONENT_LABEL)
}

fn checksum(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn concat_values(map: &BTreeMap<String, String>) -> String {
    map.iter().map(|(k, v)| format!("{k}\n{v}")).collect::<Vec<_>>().join("\n")
}

/// `mariadb-galera-N.mariadb-galera-headless.<ns>.svc` for every node.
fn galera_peers(replicas: u32, ns: &str) -> Vec<String> {
    (0..replicas).map(|i| format!("{GALERA}-{i}.{GALERA_HEADLESS}.{ns}.svc")).collect()
}

#[derive(Serialize)]
struct PdnsConf<'a> {
    secret: &'a str,
    secrets_dir: &'a str,
    socket_dir: &'a str,
    dns_port: i32,
    api_port: i32,
    nameserver: &'a str,
    hostmaster: &'a str,
    db_host: String,
    db_port: i32,
    db_name: &'a str,
    db_user: &'a str,
}

#[derive(Serialize)]
struct MyCnf<'a> {
    datadir: &'a str,
    mysql_port: i32,
    buffer_pool: String,
    wsrep_provider: &'a str,
    cluster_name: &'a str,
    peers: Vec<String>,
    runtime_dir: &'a str,
}

fn pdns_scripts(ns: &str, zone: &str, nameserver: &str, hostmaster: &str) -> Result<BTreeMap<String, String>, Error> {
    let cx = serde_json::json!({
        "secrets_dir": PDNS_SECRETS_DIR,
        "schema_source": SCHEMA_SOURCE,
        "schema_dir": SCHEMA_DIR,
        "db_host": format!("{GALERA}.{ns}.svc"),
        "db_port": MYSQL_PORT,
        "db_name": DATABASE,
        "db_user": DATABASE,
        "zone": zone,
        "nameserver": nameserver,
        "hostmaster": hostmaster,
    });
    Ok(BTreeMap::from([
        ("prepare.sh".to_string(), render_template("prepare.sh.j2", PREPARE_TEMPLATE, &cx)?),
        ("setup-db.sh".to_string(), render_template("setup-db.sh.j2", SETUP_DB_TEMPLATE, &cx)?),
    ]))
}

fn galera_scripts(p: &PowerdnsParams, ns: &str) -> Result<BTreeMap<String, String>, Error> {
    let cx = serde_json::json!({
        "name": GALERA,
        "datadir": MYSQL_DATADIR,
        "replicas": p.galera.replicas,
        "force_bootstrap": p.galera.force_bootstrap.map(|i| i.to_string()).unwrap_or_default(),
        "headless": GALERA_HEADLESS,
        "namespace": ns,
        "peers": galera_peers(p.galera.replicas, ns),
        "runtime_dir": MYSQL_RUNTIME_DIR,
        "galera_port": GALERA_PORT,
        "grace_seconds": GRACE_SECONDS,
    });
    Ok(BTreeMap::from([
        ("galera.sh".to_string(), render_template("galera.sh.j2", GALERA_SH_TEMPLATE, &cx)?),
        ("ready.sh".to_string(), render_template("ready.sh.j2", READY_SH_TEMPLATE, &cx)?),
        ("mariabackup-user.sh".to_string(), render_template("mariabackup-user.sh.j2", MARIABACKUP_USER_TEMPLATE, &cx)?),
    ]))
}

fn secret(name: &str, ns: &str, labels: BTreeMap<String, String>, values: &BTreeMap<String, String>) -> Secret {
    Secret {
        metadata: meta::namespaced(name, ns, labels),
        type_: Some("Opaque".into()),
        data: Some(values.iter().map(|(k, v)| (k.clone(), ByteString(v.as_bytes().to_vec()))).collect()),
        ..Default::default()
    }
}

fn config_map(name: &str, ns: &str, labels: BTreeMap<String, String>, data: BTreeMap<String, String>) -> ConfigMap {
    ConfigMap { metadata: meta::namespaced(name, ns, labels), data: Some(data), ..Default::default() }
}

fn service_port(name: &str, port: i32, target: &str, protocol: &str) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port,
        target_port: Some(IntOrString::String(target.into())),
        protocol: Some(protocol.into()),
        ..Default::default()
    }
}

fn dns_ports() -> Vec<ServicePort> {
    vec![service_port("dns-tcp", DNS_PORT, "dns-tcp", "TCP"), service_port("dns-udp", DNS_PORT, "dns-udp", "UDP")]
}

/// BKPR's `powerdns` Service: the API for external-dns and DNS inside the cluster (a
/// CoreDNS `forward` for the zone can point at it).
fn pdns_service(ns: &str) -> Service {
    let mut ports = vec![service_port("api", API_PORT, "api", "TCP")];
    ports.extend(dns_ports());
    PodService { kind: ServiceKind::ClusterIp, selector: meta::selector_labels(NAME), ports }.build(meta::namespaced(
        NAME,
        ns,
        labels(),
    ))
}

/// DNS for the site's resolvers, through the platform's load balancer. The API is not on
/// it: only external-dns, in the cluster, writes records.
fn dns_service(cx: &Context) -> Service {
    Service {
        metadata: load_balancer_metadata(meta::namespaced(DNS_SERVICE, cx.namespace(), labels()), cx),
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            selector: Some(meta::selector_labels(NAME)),
            ports: Some(dns_ports()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn pdns_disruption_budget(ns: &str) -> PodDisruptionBudget {
    pdb::disruption_budget(
        meta::namespaced(NAME, ns, labels()),
        Budget::MaxUnavailable(1),
        meta::selector(meta::selector_labels(NAME)),
    )
}

fn port(name: &str, port: i32, protocol: &str) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: port,
        protocol: Some(protocol.into()),
        ..Default::default()
    }
}

fn empty_dir(name: &str, in_memory: bool) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource { medium: in_memory.then(|| "Memory".to_string()), ..Default::default() }),
        ..Default::default()
    }
}

fn config_map_volume(name: &str, config_map: &str, items: Option<Vec<(&str, i32)>>) -> Volume {
    Volume {
        name: name.into(),
        config_map: Some(ConfigMapVolumeSource {
            name: config_map.into(),
            items: items.map(|items| {
                items
                    .into_iter()
                    .map(|(key, mode)| KeyToPath { key: key.into(), path: key.into(), mode: Some(mode) })
                    .collect()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn exec_probe(script: &str, period: i32, failures: i32) -> Probe {
    Probe {
        exec: Some(ExecAction { command: Some(vec!["bash".into(), "-c".into(), script.into()]) }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        ..Default::default()
    }
}

fn tcp_probe(port: &str, period: i32, failures: i32) -> Probe {
    crate::common::probes::tcp(port, period, 5, failures)
}

fn small_resources() -> Resources {
    Resources::new("10m", "32Mi", None, "64Mi")
}

fn pdns_container(p: &PowerdnsParams) -> Container {
    let mut security = container_security(true);
    // See the module's Security section: the image's pdns_server carries the file
    // capability, which cannot be executed outside the bounding set.
    security.capabilities =
        Some(Capabilities { add: Some(vec!["NET_BIND_SERVICE".into()]), drop: Some(vec!["ALL".into()]) });
    Container {
        name: "pdns".into(),
        image: Some(p.image.clone()),
        // tini (the image's init) reaps children and forwards signals; the image's start
        // script is bypassed because it prints the API key to the log.
        command: Some(vec![
            "/usr/bin/tini".into(),
            "--".into(),
            "/usr/local/sbin/pdns_server".into(),
            format!("--config-dir={PDNS_CONFIG_DIR}"),
        ]),
        ports: Some(vec![
            port("dns-tcp", DNS_CONTAINER_PORT, "TCP"),
            port("dns-udp", DNS_CONTAINER_PORT, "UDP"),
            port("api", API_PORT, "TCP"),
        ]),
        resources: Some(p.resources.to_k8s()),
        security_context: Some(security),
        volume_mounts: Some(vec![
            read_only_mount("config", PDNS_CONFIG_DIR),
            read_only_mount("secrets", PDNS_SECRETS_DIR),
            mount("run", PDNS_SOCKET_DIR),
        ]),
        readiness_probe: Some(Probe {
            http_get: Some(HTTPGetAction {
                path: Some("/metrics".into()),
                port: IntOrString::String("api".into()),
                scheme: Some("HTTP".into()),
                ..Default::default()
            }),
            period_seconds: Some(10),
            timeout_seconds: Some(3),
            failure_threshold: Some(3),
            ..Default::default()
        }),
        liveness_probe: Some(tcp_probe("dns-tcp", 20, 3)),
        ..Default::default()
    }
}

fn prepare_container(p: &PowerdnsParams) -> Container {
    Container {
        name: "prepare".into(),
        image: Some(p.image.clone()),
        command: Some(vec!["sh".into(), "/scripts/prepare.sh".into()]),
        env: Some(vec![
            secret_env("PDNS_API_KEY", NAME, "api_key"),
            secret_env("PDNS_DB_PASSWORD", NAME, "db_password"),
        ]),
        resources: Some(small_resources().to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(vec![
            read_only_mount("scripts", "/scripts"),
            mount("secrets", PDNS_SECRETS_DIR),
            mount("schema", SCHEMA_DIR),
        ]),
        ..Default::default()
    }
}

fn setup_db_container(p: &PowerdnsParams) -> Container {
    Container {
        name: "setup-db".into(),
        image: Some(p.galera.image.clone()),
        command: Some(vec!["bash".into(), "/scripts/setup-db.sh".into()]),
        env: Some(vec![
            secret_env("DB_ROOT_PASSWORD", GALERA, "root_password"),
            secret_env("PDNS_DB_PASSWORD", NAME, "db_password"),
        ]),
        resources: Some(Resources::new("10m", "64Mi", None, "128Mi").to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(vec![read_only_mount("scripts", "/scripts"), read_only_mount("schema", SCHEMA_DIR)]),
        ..Default::default()
    }
}

/// PowerDNS' metrics, on its API port.
pub fn pdns_scrape(ns: &str) -> Scrape {
    Scrape::pods(COMPONENT_LABEL, NAME, ns, meta::selector_labels(NAME), MetricsEndpoint::new("api", API_PORT))
}

/// The MySQL exporter sidecar of the Galera nodes. A PodMonitor: both Galera Services
/// carry the same labels, and a ServiceMonitor would scrape every node twice.
pub fn galera_scrape(ns: &str) -> Scrape {
    Scrape::pods(
        COMPONENT_LABEL,
        GALERA,
        ns,
        meta::selector_labels(GALERA),
        MetricsEndpoint::new("metrics", EXPORTER_PORT),
    )
}

fn pdns_annotations(checksum: &str, cx: &Context) -> BTreeMap<String, String> {
    let mut a = pdns_scrape(cx.namespace()).annotations(cx);
    a.extend([
        ("checksum/config".to_string(), checksum.to_string()),
        ("kubectl.kubernetes.io/default-container".to_string(), "pdns".to_string()),
        (
            SECURITY_EXCEPTION_ANNOTATION.to_string(),
            "container `pdns` adds NET_BIND_SERVICE back: the image sets it as a file capability on pdns_server, \
             which the kernel will not execute without it in the bounding set; PowerDNS binds the unprivileged \
             port 5353"
                .to_string(),
        ),
    ]);
    a
}

fn pdns_deployment(p: &PowerdnsParams, cx: &Context, checksum: &str) -> Deployment {
    let ns = cx.namespace();
    let selector = meta::selector(meta::selector_labels(NAME));
    let pod = PodSpec {
        automount_service_account_token: Some(false),
        security_context: Some(pod_security(PDNS_UID, PDNS_UID, PDNS_UID)),
        termination_grace_period_seconds: Some(30),
        affinity: Some(spread_over_nodes(&selector, 100)),
        init_containers: Some(vec![prepare_container(p), setup_db_container(p)]),
        containers: vec![pdns_container(p)],
        volumes: Some(vec![
            config_map_volume("config", NAME, None),
            config_map_volume("scripts", SCRIPTS, None),
            empty_dir("secrets", true),
            empty_dir("schema", false),
            empty_dir("run", false),
        ]),
        ..Default::default()
    };
    Deployment {
        metadata: meta::namespaced(NAME, ns, labels()),
        spec: Some(DeploymentSpec {
            // Validated to fit.
            replicas: Some(p.replicas as i32),
            selector,
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels()),
                    annotations: Some(pdns_annotations(checksum, cx)),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// No API token: the nodes find each other through DNS (BKPR's Bitnami image read
/// endpoints, which needed a Role).
fn galera_service_account(ns: &str) -> ServiceAccount {
    rbac::service_account(meta::namespaced(GALERA, ns, galera_labels()), Some(false))
}

/// BKPR's `mariadb-galera` Service: MySQL on the synced nodes, and the exporter.
fn galera_service(ns: &str) -> Service {
    PodService {
        kind: ServiceKind::ClusterIp,
        selector: meta::selector_labels(GALERA),
        ports: vec![tcp_port("mysql", MYSQL_PORT, "mysql"), tcp_port("metrics", EXPORTER_PORT, "metrics")],
    }
    .build(meta::namespaced(GALERA, ns, galera_labels()))
}

/// BKPR's headless Service: every node's DNS name, before it is ready (nodes must reach
/// each other to become ready).
fn galera_headless_service(ns: &str) -> Service {
    PodService {
        kind: ServiceKind::HeadlessPublishingNotReady,
        selector: meta::selector_labels(GALERA),
        ports: vec![
            tcp_port("galera", GALERA_PORT, "galera"),
            tcp_port("ist", IST_PORT, "ist"),
            tcp_port("sst", SST_PORT, "sst"),
        ],
    }
    .build(meta::namespaced(GALERA_HEADLESS, ns, galera_labels()))
}

/// A majority of the nodes stays up through drains: losing it stops every write.
fn galera_disruption_budget(p: &PowerdnsParams, ns: &str) -> PodDisruptionBudget {
    pdb::disruption_budget(
        meta::namespaced(GALERA, ns, galera_labels()),
        Budget::MinAvailable((p.galera.replicas / 2 + 1) as i32),
        meta::selector(meta::selector_labels(GALERA)),
    )
}

fn mariadb_container(p: &PowerdnsParams) -> Container {
    let ping = "MYSQL_PWD=\"$MARIADB_ROOT_PASSWORD\" mariadb-admin --protocol=socket --user=root ping";
    Container {
        name: "mariadb-galera".into(),
        image: Some(p.galera.image.clone()),
        command: Some(vec!["bash".into(), "/scripts/galera.sh".into()]),
        env: Some(vec![
            field_env("POD_IP", "status.podIP"),
            secret_env("MARIADB_ROOT_PASSWORD", GALERA, "root_password"),
            secret_env("MARIADB_MARIABACKUP_PASSWORD", GALERA, "mariabackup_password"),
            // PowerDNS needs no time zone tables, and the image upgrades the system
            // tables (locally, replication off) when a new MariaDB version starts.
            value_env("MARIADB_INITDB_SKIP_TZINFO", "1"),
            value_env("MARIADB_AUTO_UPGRADE", "1"),
        ]),
        ports: Some(vec![
            port("mysql", MYSQL_PORT, "TCP"),
            port("galera", GALERA_PORT, "TCP"),
            port("ist", IST_PORT, "TCP"),
            port("sst", SST_PORT, "TCP"),
        ]),
        resources: Some(p.galera.resources.to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(vec![
            mount("data", MYSQL_HOME),
            VolumeMount {
                name: "config".into(),
                mount_path: "/etc/mysql/conf.d/my.cnf".into(),
                sub_path: Some("my.cnf".into()),
                read_only: Some(true),
                ..Default::default()
            },
            read_only_mount("scripts", "/scripts"),
            read_only_mount("initdb", "/docker-entrypoint-initdb.d"),
            mount("runtime", MYSQL_RUNTIME_DIR),
            mount("run", "/run/mysqld"),
            mount("tmp", "/tmp"),
        ]),
        // Waiting for peers, initializing, and a full state transfer of a large database
        // all come before the server answers: half an hour before liveness counts.
        startup_probe: Some(exec_probe(ping, 10, 180)),
        readiness_probe: Some(exec_probe("/bin/bash /scripts/ready.sh", 10, 3)),
        liveness_probe: Some(exec_probe(ping, 20, 6)),
        ..Default::default()
    }
}

fn exporter_container(p: &PowerdnsParams) -> Container {
    Container {
        name: "metrics".into(),
        image: Some(p.galera.exporter_image.clone()),
        args: Some(vec![
            format!("--mysqld.address=127.0.0.1:{MYSQL_PORT}"),
            "--mysqld.username=root".into(),
            format!("--web.listen-address=:{EXPORTER_PORT}"),
        ]),
        env: Some(vec![secret_env("MYSQLD_EXPORTER_PASSWORD", GALERA, "root_password")]),
        ports: Some(vec![port("metrics", EXPORTER_PORT, "TCP")]),
        resources: Some(p.galera.exporter_resources.to_k8s()),
        security_context: Some(container_security(true)),
        // No readiness probe: the sidecar must never take the node out of its Services.
        liveness_probe: Some(tcp_probe("metrics", 30, 3)),
        ..Default::default()
    }
}

fn galera_stateful_set(p: &PowerdnsParams, cx: &Context, checksum: &str) -> StatefulSet {
    let ns = cx.namespace();
    let selector = meta::selector(meta::selector_labels(GALERA));
    let pod = PodSpec {
        service_account_name: Some(GALERA.into()),
        automount_service_account_token: Some(false),
        security_context: Some(pod_security(MYSQL_UID, MYSQL_UID, MYSQL_UID)),
        // Time to leave the cluster cleanly, so the last node out may bootstrap it again.
        termination_grace_period_seconds: Some(120),
        affinity: Some(spread_over_nodes(&selector, 100)),
        containers: vec![mariadb_container(p), exporter_container(p)],
        volumes: Some(vec![
            config_map_volume("config", GALERA, None),
            config_map_volume("scripts", GALERA_SCRIPTS, Some(vec![("galera.sh", 0o555), ("ready.sh", 0o555)])),
            // Not executable: the entrypoint sources it, with its SQL helpers.
            config_map_volume("initdb", GALERA_SCRIPTS, Some(vec![("mariabackup-user.sh", 0o444)])),
            empty_dir("runtime", true),
            empty_dir("run", false),
            empty_dir("tmp", false),
        ]),
        ..Default::default()
    };
    StatefulSet {
        metadata: meta::namespaced(GALERA, ns, galera_labels()),
        spec: Some(StatefulSetSpec {
            // Validated to fit.
            replicas: Some(p.galera.replicas as i32),
            service_name: Some(GALERA_HEADLESS.into()),
            selector,
            // All nodes start together: after a full shutdown the node that may bootstrap
            // is not necessarily pod 0, and ordered start would wait on pod 0 forever.
            pod_management_policy: Some("Parallel".into()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                ..Default::default()
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(galera_labels()),
                    annotations: Some({
                        let mut a = galera_scrape(cx.namespace()).annotations(cx);
                        a.extend([
                            ("checksum/config".to_string(), checksum.to_string()),
                            ("kubectl.kubernetes.io/default-container".to_string(), "mariadb-galera".to_string()),
                        ]);
                        a
                    }),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            volume_claim_templates: Some(vec![ClaimTemplate {
                name: "data",
                size: &p.galera.storage,
                storage_class: cx.storage_class(),
                name_label: false,
            }
            .build()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing;
    use crate::common::testing::{find, path_of};
    use crate::external_dns::ExternalDns;
    use crate::stack::Stack;

    fn cx() -> Context {
        let mut cx = Context::default();
        cx.config.dns_zone = Some("example.com".into());
        cx
    }

    fn build(p: &PowerdnsParams) -> Vec<Object> {
        Powerdns::build(p, &cx()).unwrap_or_else(|e| panic!("builds: {e}"))
    }

    fn with(f: impl FnOnce(&mut PowerdnsParams)) -> PowerdnsParams {
        testing::with(f)
    }

    fn data<'a>(objects: &'a [Object], key: &str, file: &str) -> &'a str {
        find(objects, key).value["data"][file].as_str().unwrap_or_else(|| panic!("no {file} in {key}"))
    }

    fn all_secrets() -> Context {
        let mut cx = cx();
        cx.secrets.insert(
            "powerdns".into(),
            [
                ("api_key", "s3cr3t-k3y"),
                ("db_password", "s3cr3t-db"),
                ("root_password", "s3cr3t-r00t"),
                ("mariabackup_password", "s3cr3t-mb"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        cx
    }

    #[test]
    fn default_build_has_bkpr_names_and_keys() {
        let objects = build(&PowerdnsParams::default());
        let got: Vec<(&str, &str, &str)> = objects.iter().map(|o| (o.key.as_str(), o.kind(), o.name())).collect();
        assert_eq!(
            got,
            [
                ("config", "ConfigMap", "powerdns"),
                ("scripts", "ConfigMap", "powerdns-sh"),
                ("svc", "Service", "powerdns"),
                ("dnsSvc", "Service", "powerdns-dns"),
                ("deploy", "Deployment", "powerdns"),
                ("disruptionBudget", "PodDisruptionBudget", "powerdns"),
                ("galera.sa", "ServiceAccount", "mariadb-galera"),
                ("galera.config", "ConfigMap", "mariadb-galera"),
                ("galera.scripts", "ConfigMap", "mariadb-galera-sh"),
                ("galera.svc", "Service", "mariadb-galera"),
                ("galera.headless", "Service", "mariadb-galera-headless"),
                ("galera.sts", "StatefulSet", "mariadb-galera"),
                ("galera.disruptionBudget", "PodDisruptionBudget", "mariadb-galera"),
            ]
        );
        for o in &objects {
            assert_eq!(o.namespace(), "kubeprod", "{}", o.key);
            assert!(["v1", "apps/v1", "policy/v1"].contains(&o.api_version()), "{} uses {}", o.key, o.api_version());
            assert_eq!(o.value["metadata"]["labels"]["app.kubernetes.io/component"], "powerdns", "{}", o.key);
        }
        let sts = &find(&objects, "galera.sts").value["spec"];
        assert_eq!(sts["replicas"], 3);
        assert_eq!(sts["serviceName"], "mariadb-galera-headless");
        assert_eq!(sts["podManagementPolicy"], "Parallel");
        assert_eq!(sts["selector"]["matchLabels"], serde_json::json!({"name": "mariadb-galera"}));
        assert_eq!(sts["volumeClaimTemplates"][0]["metadata"]["name"], "data");
        assert_eq!(find(&objects, "deploy").value["spec"]["replicas"], 2);
        assert_eq!(find(&objects, "galera.disruptionBudget").value["spec"]["minAvailable"], 2);
    }

    #[test]
    fn api_on_8081_in_the_cluster_and_dns_on_53_through_the_load_balancer() {
        let mut cx = cx();
        cx.platform.load_balancer_annotations =
            BTreeMap::from([("metallb.universe.tf/address-pool".to_string(), "default".to_string())]);
        let objects = Powerdns::build(&PowerdnsParams::default(), &cx).expect("builds");
        let svc = &find(&objects, "svc").value["spec"];
        assert_eq!(svc["type"], "ClusterIP");
        let ports: Vec<(String, i64, String)> = svc["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| (p["name"].to_string(), p["port"].as_i64().unwrap_or(0), p["protocol"].to_string()))
            .collect();
        assert_eq!(
            ports,
            [
                ("\"api\"".into(), 8081, "\"TCP\"".into()),
                ("\"dns-tcp\"".into(), 53, "\"TCP\"".into()),
                ("\"dns-udp\"".into(), 53, "\"UDP\"".into()),
            ]
        );
        let dns = &find(&objects, "dnsSvc").value;
        assert_eq!(dns["spec"]["type"], "LoadBalancer");
        assert_eq!(dns["metadata"]["annotations"]["metallb.universe.tf/address-pool"], "default");
        let protocols: Vec<&str> =
            dns["spec"]["ports"].as_array().into_iter().flatten().filter_map(|p| p["protocol"].as_str()).collect();
        assert_eq!(protocols, ["TCP", "UDP"]);
        assert!(dns["spec"]["ports"].as_array().into_iter().flatten().all(|p| p["port"] == 53 && p["name"] != "api"));
        assert_eq!(api_url(&cx), "http://powerdns.kubeprod.svc:8081");
        // The container listens where the Services send DNS.
        let pdns = &find(&objects, "deploy").value["spec"]["template"]["spec"]["containers"][0];
        let cports: Vec<(&str, i64)> = pdns["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| (p["name"].as_str().unwrap_or(""), p["containerPort"].as_i64().unwrap_or(0)))
            .collect();
        assert_eq!(cports, [("dns-tcp", 5353), ("dns-udp", 5353), ("api", 8081)]);
    }

    #[test]
    fn pdns_conf_uses_galera_and_holds_no_secret() {
        let cx = all_secrets();
        let objects = Powerdns::build(&PowerdnsParams::default(), &cx).expect("builds");
        let conf = data(&objects, "config", "pdns.conf");
        for line in [
            "launch=gmysql\n",
            "gmysql-host=mariadb-galera.kubeprod.svc\n",
            "gmysql-dbname=powerdns\n",
            "gmysql-user=powerdns\n",
            "gmysql-dnssec=yes\n",
            "api=yes\n",
            "webserver-port=8081\n",
            "local-address=0.0.0.0:5353\n",
            "include-dir=/etc/powerdns/secrets\n",
            "default-soa-content=ns1.example.com hostmaster.example.com 0 10800 3600 604800 3600\n",
        ] {
            assert!(conf.contains(line), "{line}{conf}");
        }
        assert!(!conf.contains("{{") && !conf.contains("api-key=") && !conf.contains("gmysql-password"), "{conf}");
        for secret in ["s3cr3t-k3y", "s3cr3t-db", "s3cr3t-r00t", "s3cr3t-mb"] {
            for o in objects.iter().filter(|o| o.kind() == "ConfigMap") {
                assert!(!o.value.to_string().contains(secret), "{} holds a secret", o.key);
            }
        }
    }

    #[test]
    fn init_containers_prepare_secrets_database_schema_and_zone() {
        let objects = build(&with(|p| p.nameserver = Some("dns1.example.net".into())));
        let pod = &find(&objects, "deploy").value["spec"]["template"]["spec"];
        let inits: Vec<&str> =
            pod["initContainers"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).collect();
        assert_eq!(inits, ["prepare", "setup-db"]);
        assert_eq!(pod["initContainers"][0]["image"], DEFAULT_IMAGE);
        assert_eq!(pod["initContainers"][1]["image"], DEFAULT_GALERA_IMAGE);
        let secrets =
            pod["volumes"].as_array().into_iter().flatten().find(|v| v["name"] == "secrets").expect("secrets");
        assert_eq!(secrets["emptyDir"]["medium"], "Memory");

        let prepare = data(&objects, "scripts", "prepare.sh");
        assert!(prepare.contains("> /etc/powerdns/secrets/secrets.conf"), "{prepare}");
        assert!(prepare.contains("cp \"$schema\" /schema/schema.mysql.sql"), "{prepare}");
        let setup = data(&objects, "scripts", "setup-db.sh");
        assert!(setup.contains("--host=mariadb-galera.kubeprod.svc --port=3306"), "{setup}");
        assert!(setup.contains("CREATE DATABASE IF NOT EXISTS \\`powerdns\\`;"), "{setup}");
        assert!(setup.contains("ALTER USER 'powerdns'@'%' IDENTIFIED BY $password;"), "{setup}");
        assert!(setup.contains("db powerdns < /schema/schema.mysql.sql"), "{setup}");
        assert!(setup.contains("SELECT 'example.com', 'NATIVE' FROM DUAL"), "{setup}");
        assert!(setup.contains("'dns1.example.net hostmaster.example.com 1 10800 3600 604800 3600'"), "{setup}");
        assert!(setup.contains("'SOA-EDIT-API', 'DEFAULT'"), "{setup}");
        assert!(!setup.contains("{{") && !setup.contains("{%"), "{setup}");
    }

    #[test]
    fn pdns_runs_locked_down_but_for_the_bind_capability_it_explains() {
        let objects = build(&PowerdnsParams::default());
        let tpl = &find(&objects, "deploy").value["spec"]["template"];
        let pdns = &tpl["spec"]["containers"][0];
        assert_eq!(pdns["command"][2], "/usr/local/sbin/pdns_server");
        assert_eq!(pdns["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert_eq!(pdns["securityContext"]["capabilities"]["add"], serde_json::json!(["NET_BIND_SERVICE"]));
        let why = tpl["metadata"]["annotations"][SECURITY_EXCEPTION_ANNOTATION].as_str().unwrap_or("");
        assert!(why.contains("NET_BIND_SERVICE") && why.contains("5353"), "{why}");
        assert_eq!(tpl["metadata"]["annotations"]["prometheus.io/port"], "8081");
        assert_eq!(tpl["metadata"]["annotations"]["prometheus.io/path"], "/metrics");
        assert_eq!(tpl["spec"]["securityContext"]["runAsUser"], 953);
    }

    #[test]
    fn every_container_has_requests_and_limits_and_runs_locked_down() {
        let objects = build(&PowerdnsParams::default());
        for key in ["deploy", "galera.sts"] {
            let pod = &find(&objects, key).value["spec"]["template"]["spec"];
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{key}");
            assert_eq!(pod["automountServiceAccountToken"], false, "{key}");
            let all = pod["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(pod["initContainers"].as_array().into_iter().flatten());
            for c in all {
                let name = &c["name"];
                assert!(c["resources"]["requests"]["memory"].is_string(), "{key}/{name}");
                assert!(c["resources"]["limits"]["memory"].is_string(), "{key}/{name}");
                assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true, "{key}/{name}");
                assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false, "{key}/{name}");
                assert_eq!(c["securityContext"]["runAsNonRoot"], true, "{key}/{name}");
            }
        }
        let galera = &find(&objects, "galera.sts").value["spec"]["template"];
        assert!(galera["metadata"]["annotations"].get(SECURITY_EXCEPTION_ANNOTATION).is_none());
        assert_eq!(galera["metadata"]["annotations"]["prometheus.io/port"], "9104");
    }

    #[test]
    fn my_cnf_lists_every_peer_and_includes_the_node_settings() {
        let objects = build(&with(|p| p.galera.replicas = 5));
        let cnf = data(&objects, "galera.config", "my.cnf");
        let peers: Vec<String> =
            (0..5).map(|i| format!("mariadb-galera-{i}.mariadb-galera-headless.kubeprod.svc")).collect();
        assert!(cnf.contains(&format!("wsrep_cluster_address=gcomm://{}\n", peers.join(","))), "{cnf}");
        for line in [
            "datadir=/var/lib/mysql/data\n",
            "wsrep_provider=/usr/lib/galera/libgalera_smm.so\n",
            "wsrep_cluster_name=galera\n",
            "wsrep_sst_method=mariabackup\n",
            "binlog-format=ROW\n",
            "innodb-autoinc-lock-mode=2\n",
            "innodb-buffer-pool-size=256M\n",
            "!includedir /etc/mysql/runtime.d\n",
        ] {
            assert!(cnf.contains(line), "{line}{cnf}");
        }
        let start = data(&objects, "galera.scripts", "galera.sh");
        assert!(start.contains("replicas=5\n"), "{start}");
        assert!(start.contains("force_bootstrap=\"\"\n"), "{start}");
        assert!(start.contains(&format!("peers=({} )", peers.join(" "))), "{start}");
        assert!(start.contains("echo \"wsrep_cluster_address=gcomm://\""), "{start}");
        assert!(start.contains("> /etc/mysql/runtime.d/node.cnf"), "{start}");
        assert!(start.contains("/dev/tcp/$peer/4567"), "{start}");
        assert!(!start.contains("{{") && !start.contains("{%"), "{start}");
        let forced = build(&with(|p| p.galera.force_bootstrap = Some(1)));
        assert!(data(&forced, "galera.scripts", "galera.sh").contains("force_bootstrap=\"1\"\n"));
    }

    #[test]
    fn galera_pods_mount_scripts_config_and_fast_memory_for_credentials() {
        let objects = build(&PowerdnsParams::default());
        let pod = &find(&objects, "galera.sts").value["spec"]["template"]["spec"];
        let db = &pod["containers"][0];
        assert_eq!(db["name"], "mariadb-galera");
        assert_eq!(db["command"], serde_json::json!(["bash", "/scripts/galera.sh"]));
        assert_eq!(db["readinessProbe"]["exec"]["command"][2], "/bin/bash /scripts/ready.sh");
        let mounts: Vec<(&str, &str)> = db["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| (m["name"].as_str().unwrap_or(""), m["mountPath"].as_str().unwrap_or("")))
            .collect();
        assert!(mounts.contains(&("data", "/var/lib/mysql")));
        assert!(mounts.contains(&("config", "/etc/mysql/conf.d/my.cnf")));
        assert!(mounts.contains(&("initdb", "/docker-entrypoint-initdb.d")));
        assert!(mounts.contains(&("runtime", "/etc/mysql/runtime.d")));
        let volume = |name: &str| {
            pod["volumes"].as_array().into_iter().flatten().find(|v| v["name"] == name).cloned().unwrap_or_default()
        };
        assert_eq!(volume("runtime")["emptyDir"]["medium"], "Memory");
        assert_eq!(volume("initdb")["configMap"]["items"][0]["mode"], 0o444);
        assert_eq!(volume("scripts")["configMap"]["items"][0]["mode"], 0o555);
        let exporter = &pod["containers"][1];
        assert_eq!(exporter["name"], "metrics");
        assert_eq!(exporter["image"], DEFAULT_EXPORTER_IMAGE);
        assert_eq!(exporter["env"][0]["valueFrom"]["secretKeyRef"]["name"], "mariadb-galera");
        let headless = &find(&objects, "galera.headless").value["spec"];
        assert_eq!(headless["clusterIP"], "None");
        assert_eq!(headless["publishNotReadyAddresses"], true);
    }

    #[test]
    fn config_changes_roll_the_pods() {
        let sums = |p: &PowerdnsParams| {
            let objects = build(p);
            let get = |key: &str| {
                find(&objects, key).value["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            };
            (get("deploy"), get("galera.sts"))
        };
        let base = sums(&PowerdnsParams::default());
        assert_eq!(base.0.len(), 64);
        assert_eq!(base, sums(&PowerdnsParams::default()));
        let zone = sums(&with(|p| p.zone = Some("dns.example.org".into())));
        assert_ne!(base.0, zone.0);
        assert_eq!(base.1, zone.1);
        let pool = sums(&with(|p| p.galera.buffer_pool = "384Mi".into()));
        assert_eq!(base.0, pool.0);
        assert_ne!(base.1, pool.1);
    }

    #[test]
    fn secrets_are_rendered_per_secret_or_external() {
        let p = PowerdnsParams::default();
        let objects = build(&p);
        assert!(objects.iter().all(|o| o.kind() != "Secret"));
        let ext = Powerdns::externals(&p, &cx());
        assert_eq!(ext.iter().map(|e| e.2.as_str()).collect::<Vec<_>>(), ["powerdns", "mariadb-galera"]);

        let cx = all_secrets();
        let objects = Powerdns::build(&p, &cx).expect("builds");
        let keys = |key: &str| -> Vec<String> {
            find(&objects, key).value["data"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
        };
        assert_eq!(keys("secret"), ["api_key", "db_password"]);
        assert_eq!(keys("galera.secret"), ["mariabackup_password", "root_password"]);
        assert!(Powerdns::externals(&p, &cx).is_empty());

        // Only PowerDNS's: the Galera Secret stays external.
        let mut cx = self::tests::cx();
        cx.secrets.insert(
            "powerdns".into(),
            BTreeMap::from([("api_key".to_string(), "k".to_string()), ("db_password".to_string(), "d".to_string())]),
        );
        let objects = Powerdns::build(&p, &cx).expect("builds");
        assert!(objects.iter().any(|o| o.key == "secret"));
        assert!(objects.iter().all(|o| o.key != "galera.secret"));
        assert_eq!(Powerdns::externals(&p, &cx).iter().map(|e| e.2.as_str()).collect::<Vec<_>>(), ["mariadb-galera"]);
    }

    #[test]
    fn bad_secret_values_are_errors_that_name_no_value() {
        let bad = |pairs: &[(&str, &str)]| {
            let mut cx = cx();
            cx.secrets.insert("powerdns".into(), pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
            Powerdns::build(&PowerdnsParams::default(), &cx).expect_err("rejected").to_string()
        };
        let e = bad(&[("api_key", "k")]);
        assert!(e.contains("`powerdns.db_password` is missing"), "{e}");
        let e = bad(&[("api_key", "has space"), ("db_password", "d")]);
        assert!(e.contains("`powerdns.api_key`") && !e.contains("has space"), "{e}");
        let e = bad(&[("root_pasword", "x")]);
        assert!(e.contains("`powerdns.root_pasword`"), "{e}");
    }

    #[test]
    fn bad_parameters_are_errors_with_their_path() {
        for (p, path) in [
            (with(|p| p.replicas = 0), "powerdns.replicas"),
            (with(|p| p.image = String::new()), "powerdns.image"),
            (with(|p| p.zone = Some("Example.COM".into())), "powerdns.zone"),
            (with(|p| p.nameserver = Some("ns1".into())), "powerdns.nameserver"),
            (with(|p| p.resources = Resources::new("1", "1Gi", None, "256Mi")), "powerdns.resources"),
            (with(|p| p.galera.replicas = 2), "powerdns.galera.replicas"),
            (with(|p| p.galera.replicas = 0), "powerdns.galera.replicas"),
            (with(|p| p.galera.image = " ".into()), "powerdns.galera.image"),
            (with(|p| p.galera.exporter_image = String::new()), "powerdns.galera.exporter_image"),
            (with(|p| p.galera.storage = "0".into()), "powerdns.galera.storage"),
            (with(|p| p.galera.buffer_pool = "600Mi".into()), "powerdns.galera.buffer_pool"),
            (with(|p| p.galera.buffer_pool = "1.5Mi".into()), "powerdns.galera.buffer_pool"),
            (with(|p| p.galera.force_bootstrap = Some(3)), "powerdns.galera.force_bootstrap"),
        ] {
            let e = Powerdns::build(&p, &cx()).expect_err("rejected");
            assert_eq!(path_of(&e), path, "{e}");
            assert!(!e.helps().is_empty(), "{path} has a help line");
        }
        // One node is allowed; it always bootstraps from its own data.
        let objects = build(&with(|p| p.galera.replicas = 1));
        assert!(data(&objects, "galera.scripts", "galera.sh").contains("replicas=1\n"));
        assert_eq!(find(&objects, "galera.disruptionBudget").value["spec"]["minAvailable"], 1);
    }

    #[test]
    fn zone_comes_from_the_parameter_or_the_dns_zone() {
        let e = Powerdns::build(&PowerdnsParams::default(), &Context::default()).expect_err("needs a zone");
        assert_eq!(path_of(&e), "config.dns_zone");
        let objects = Powerdns::build(&with(|p| p.zone = Some("dns.example.org".into())), &Context::default())
            .expect("the parameter is enough");
        assert!(data(&objects, "scripts", "setup-db.sh").contains("'dns.example.org'"));
        assert!(data(&objects, "config", "pdns.conf").contains("ns1.dns.example.org hostmaster.dns.example.org"));
    }

    #[test]
    fn every_object_round_trips() {
        for cx in [cx(), all_secrets()] {
            for mut o in Powerdns::build(&PowerdnsParams::default(), &cx).expect("builds") {
                let before = o.value.clone();
                o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
                assert_eq!(before, o.value, "{} changed in the round trip", o.key);
            }
        }
    }

    #[test]
    fn service_selectors_match_the_pod_templates() {
        let objects = build(&PowerdnsParams::default());
        for (svc, workload) in
            [("svc", "deploy"), ("dnsSvc", "deploy"), ("galera.svc", "galera.sts"), ("galera.headless", "galera.sts")]
        {
            let labels = &find(&objects, workload).value["spec"]["template"]["metadata"]["labels"];
            let selector = find(&objects, svc).value["spec"]["selector"].as_object().cloned().unwrap_or_default();
            assert!(!selector.is_empty() && selector.iter().all(|(k, v)| &labels[k] == v), "{svc}");
        }
        for (pdb, workload) in [("disruptionBudget", "deploy"), ("galera.disruptionBudget", "galera.sts")] {
            assert_eq!(
                find(&objects, pdb).value["spec"]["selector"]["matchLabels"],
                find(&objects, workload).value["spec"]["selector"]["matchLabels"],
                "{pdb}"
            );
        }
        // PowerDNS's Services never reach the database pods.
        let db_labels = &find(&objects, "galera.sts").value["spec"]["template"]["metadata"]["labels"];
        assert_ne!(find(&objects, "svc").value["spec"]["selector"]["name"], db_labels["name"]);
    }

    #[test]
    fn rendered_scripts_are_valid_shell() {
        let Ok(out) = std::process::Command::new("bash").arg("--version").output() else {
            eprintln!("bash is not installed: skipped");
            return;
        };
        assert!(out.status.success());
        let objects = build(&with(|p| p.galera.force_bootstrap = Some(0)));
        let dir = std::env::temp_dir().join(format!("runway-powerdns-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        for (key, file, shell) in [
            ("scripts", "prepare.sh", "sh"),
            ("scripts", "setup-db.sh", "bash"),
            ("galera.scripts", "galera.sh", "bash"),
            ("galera.scripts", "ready.sh", "bash"),
            ("galera.scripts", "mariabackup-user.sh", "bash"),
        ] {
            let path = dir.join(file);
            std::fs::write(&path, data(&objects, key, file)).expect("written");
            let check = std::process::Command::new(shell).arg("-n").arg(&path).output().expect("runs");
            assert!(check.status.success(), "{file}: {}", String::from_utf8_lossy(&check.stderr));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn defaults_serialize_and_read_back() {
        let json = serde_json::to_value(PowerdnsParams::default()).expect("serializes");
        assert_eq!(json["replicas"], 2);
        assert_eq!(json["galera"]["replicas"], 3);
        let back: PowerdnsParams = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, PowerdnsParams::default());
        assert!(serde_json::from_value::<PowerdnsParams>(serde_json::json!({"galera": {"replica": 3}})).is_err());
    }

    #[test]
    fn renders_on_onprem_with_external_dns_pointed_at_its_api() {
        let mut s = Stack::new();
        s.platform("onprem", "test").expect("onprem exists");
        s.set("config.dns_zone=example.com", false).expect("a valid --set");
        s.set("platform.components.powerdns=true", false).expect("opt in");
        s.secrets(
            "secrets.yaml",
            "powerdns: {api_key: k, db_password: d, root_password: r, mariabackup_password: m}\n",
        )
        .expect("a valid secrets file");
        let rendered = s.render(&[&ExternalDns, &Powerdns]).unwrap_or_else(|e| panic!("{}", e.render()));
        let mine = rendered.objects.iter().filter(|o| o.component == "powerdns" && o.kind() != "NetworkPolicy").count();
        assert_eq!(mine, 15);
        let edns = rendered
            .objects
            .iter()
            .find(|o| o.component == "external_dns" && o.kind() == "Deployment")
            .map(|o| o.value["spec"]["template"]["spec"]["containers"][0].to_string())
            .unwrap_or_default();
        assert!(edns.contains("--pdns-server=http://powerdns.kubeprod.svc:8081"), "{edns}");
        // The Service and port it names exist, and so does the Secret it reads.
        let svc = rendered.objects.iter().find(|o| o.kind() == "Service" && o.name() == "powerdns").expect("svc");
        assert!(svc.value["spec"]["ports"].as_array().into_iter().flatten().any(|p| p["port"] == 8081));
        let secret = rendered.objects.iter().find(|o| o.kind() == "Secret" && o.name() == "powerdns").expect("secret");
        assert!(secret.value["data"]["api_key"].is_string());
    }

    #[test]
    fn nested_galera_keys_take_object_patches() {
        let mut s = Stack::new();
        s.platform("onprem", "test").expect("onprem exists");
        s.set("config.dns_zone=example.com", false).expect("a valid --set");
        s.set("platform.components.powerdns=true", false).expect("opt in");
        s.set("powerdns.galera.replicas=5", false).expect("a valid --set");
        s.layer(
            "override.yaml",
            runway_core::SourceKind::File,
            "powerdns:\n  galera:\n    sts:\n      metadata:\n        annotations:\n          team: dns\n  dnsSvc:\n    metadata:\n      annotations:\n        metallb.universe.tf/loadBalancerIPs: 192.0.2.53\n",
        )
        .expect("a valid layer");
        let rendered = s.render(&[&Powerdns]).unwrap_or_else(|e| panic!("{}", e.render()));
        let sts = rendered.objects.iter().find(|o| o.kind() == "StatefulSet").expect("sts");
        assert_eq!(sts.value["spec"]["replicas"], 5);
        assert_eq!(sts.value["metadata"]["annotations"]["team"], "dns");
        let dns = rendered.objects.iter().find(|o| o.name() == DNS_SERVICE).expect("dns service");
        assert_eq!(dns.value["metadata"]["annotations"]["metallb.universe.tf/loadBalancerIPs"], "192.0.2.53");
        assert_eq!(dns.value["metadata"]["annotations"]["metallb.universe.tf/address-pool"], "default");
    }

    #[test]
    fn renders_alone_on_every_platform_with_external_secrets() {
        for platform in ["gke", "eks", "aks", "onprem"] {
            let mut s = Stack::new();
            s.platform(platform, "test").expect("platform exists");
            s.set("config.dns_zone=example.com", false).expect("a valid --set");
            s.set("platform.components.powerdns=true", false).expect("opt in");
            let rendered = s.render(&[&Powerdns]).unwrap_or_else(|e| panic!("{platform}: {}", e.render()));
            assert!(rendered.objects.iter().any(|o| o.kind() == "StatefulSet" && o.name() == GALERA), "{platform}");
        }
    }
}
