//! Elasticsearch for the Sysdig on-prem backend (its event and metadata store):
//! sdc-kubernetes' `datastores/sdc-elasticsearch.yaml` rebuilt on the official image, in
//! the way of the logging `elasticsearch` component (quorum rules, no privileges unless
//! asked, read-only root filesystem).
//!
//! # Which Elasticsearch
//!
//! The backend of sdc-kubernetes' days (releases 658 to 702) ran Elasticsearch 5.5;
//! draios/sysdigcloud-kubernetes moved to 5.6, then 6.8 (Sysdig 3.x to 5.x), then to
//! OpenSearch 1, which speaks Elasticsearch 7.10's API. Elasticsearch 7.17 reached its
//! end of life in January 2026, so the default is 8.19, the maintained last 8.x minor: it
//! serves the 7.x API to clients that ask for it (REST API compatibility) and is what the
//! logging `elasticsearch` component runs, one image for both. For a backend that still
//! speaks the 5.x/6.x API, set `image` to `docker.elastic.co/elasticsearch/elasticsearch:6.8.23`:
//! runway writes the 6.x configuration (Zen discovery with `minimum_master_nodes`) for a
//! 6.x tag and the 7.x-and-later one otherwise (`major_version` when the tag does not say).
//!
//! # Adopting an sdc-kubernetes install
//!
//! The names are the original's: StatefulSet and headless Service `sdc-elasticsearch` in
//! `sysdigcloud`, Service ports `api` (9200) and `transport-protocol` (9300), container
//! `elasticsearch`, claim template `data` without labels, so the claims
//! `data-sdc-elasticsearch-N` and their indices are reused; `cluster.name` stays
//! `sysdigcloud`. What changes, and what an operator does:
//! - The original StatefulSet selected `app: sysdigcloud` alone, which matches every pod of
//!   the backend; the selector is now `app: sysdigcloud, role: elasticsearch`. Selectors
//!   are immutable, so delete the old StatefulSet without its pods first:
//!   `kubectl -n sysdigcloud delete statefulset sdc-elasticsearch --cascade=orphan`.
//!   The new one adopts the pods (they carry `role: elasticsearch`) and then replaces them.
//! - The data was written by Elasticsearch 5.5. Elasticsearch reads indices of the previous
//!   major only: go through `image: ...:6.8.23` (a full cluster restart from 5.5), let the
//!   5.x indices age out or reindex them, then `...:7.17.29`, then the default. The data
//!   stays at `/usr/share/elasticsearch/data`, and the image's uid is still 1000.
//! - Nodes find each other through a new headless Service, `sdc-elasticsearch-discovery`,
//!   which lists pods before they are ready; `sdc-elasticsearch` lists ready nodes only,
//!   so the backend (`elasticsearch.url: http://sdc-elasticsearch`) never reaches one that
//!   is still starting.
//! - `ES_JAVA_OPTS` came from `sysdigcloud-config`'s `elasticsearch.jvm.options`; the heap
//!   is now the `heap` parameter, and a config change rolls the pods (`checksum/config`).
//!
//! # Security
//!
//! As the `elasticsearch` component: non-root (uid 1000, gid 0), all capabilities
//! dropped, RuntimeDefault seccomp, read-only root filesystem with emptyDirs for the
//! config directory (an init container copies the image's into it), logs and `/tmp`. The
//! original ran privileged with `IPC_LOCK` and `SYS_RESOURCE`: by default Lucene does not
//! mmap (`node.store.allow_mmap: false`), so nothing needs vm.max_map_count or privileges;
//! `sysctl_init_container: true` adds a privileged init container that raises it, with a
//! `runway.dev/security-exception` annotation. Memory locking is not used.

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, PodSpec, Service, ServiceAccount, Volume,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use runway_core::refs::ExternalRef;
use runway_core::{Error, Object};
use serde::Serialize;

pub use self::params::{tag_version, SdcElasticsearchParams, DEFAULT_IMAGE, SUPPORTED_MAJORS};
use crate::common::checksum::sha256_hex;
use crate::common::es_node::{self, ES_HOME, MAX_MAP_COUNT};
use crate::common::meta;
use crate::common::pdb::{self, Budget};
use crate::common::pod::empty_dir;
use crate::common::pod::{pod_security, SECURITY_EXCEPTION_ANNOTATION};
use crate::common::pod::{spread_over_nodes, spread_over_zones};
use crate::common::rbac;
use crate::common::service::{tcp_port, PodService, ServiceKind};
use crate::common::template::render_template;
use crate::component::{Component, ObjectDoc};
use crate::context::Context;
use crate::sdc;
use crate::sdc::DatastoreSet;

/// The StatefulSet, its headless Service (the backend's `elasticsearch.url`), the
/// ServiceAccount, ConfigMap and PodDisruptionBudget.
pub const NAME: &str = sdc::services::ELASTICSEARCH;
/// The headless Service the nodes discover each other through (not-ready pods included).
pub const DISCOVERY_SERVICE: &str = "sdc-elasticsearch-discovery";
/// The `role` label value.
pub const ROLE: &str = "elasticsearch";
/// The HTTP (REST) port.
pub const HTTP_PORT: i32 = sdc::services::ELASTICSEARCH_PORT as i32;
/// The transport port nodes talk to each other on.
pub const TRANSPORT_PORT: i32 = 9300;

/// Port names as the original Service's.
const HTTP_PORT_NAME: &str = "api";
const TRANSPORT_PORT_NAME: &str = "transport-protocol";
/// The container's transport port: a container port's name is an IANA service name of at
/// most 15 characters, so the original's `transport-protocol` (which the API server
/// refuses on a container) is the Service port's name only.
const TRANSPORT_CONTAINER_PORT: &str = "transport";
const ES_CONTAINER: &str = "elasticsearch";
const SYSCTL_CONTAINER: &str = "sysctl";
const CONFIG_KEY: &str = "elasticsearch.yml";
/// uid and gid of the official image (gid 0, as OpenShift expects).
const ES_UID: i64 = 1000;
const ES_GID: i64 = 0;

const ES_CONFIG_TEMPLATE: &str = include_str!("templates/elasticsearch.yml.j2");

/// Elasticsearch for the Sysdig backend.
pub struct SdcElasticsearch;

impl Component for SdcElasticsearch {
    const NAME: &'static str = "sdc_elasticsearch";
    const SUMMARY: &'static str =
        "Elasticsearch for the Sysdig backend (sdc-elasticsearch): quorum from replicas, no privileges by default";
    const DEFAULT_ENABLED: bool = false;
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc { key: "serviceAccount", kind: "ServiceAccount", doc: "the pods' identity; no API token mounted" },
        ObjectDoc { key: "config", kind: "ConfigMap", doc: "elasticsearch.yml" },
        ObjectDoc {
            key: "svc",
            kind: "Service",
            doc: "headless `sdc-elasticsearch`: ready nodes, the backend's URL and the serviceName",
        },
        ObjectDoc {
            key: "discoverySvc",
            kind: "Service",
            doc: "headless `sdc-elasticsearch-discovery`: every node, ready or not, for discovery",
        },
        ObjectDoc { key: "sts", kind: "StatefulSet", doc: "the nodes" },
        ObjectDoc { key: "disruptionBudget", kind: "PodDisruptionBudget", doc: "keeps the quorum up" },
        ObjectDoc {
            key: "networkPolicy",
            kind: "NetworkPolicy",
            doc: "`sdc-elasticsearch`: transport between nodes, HTTP from the backend",
        },
    ];
    type Params = SdcElasticsearchParams;

    fn externals(p: &SdcElasticsearchParams, _: &Context) -> Vec<ExternalRef> {
        p.image_pull_secrets.iter().map(|s| ("Secret".to_string(), sdc::NAMESPACE.to_string(), s.clone())).collect()
    }

    fn network(_: &SdcElasticsearchParams, _: &Context) -> Vec<crate::network::Flows> {
        use crate::network::Flows;
        vec![Flows::new("sts", "networkPolicy").to_local(DISCOVERY_SERVICE, TRANSPORT_PORT)]
    }

    fn waivers(_: &SdcElasticsearchParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        vec![Waiver::new(
            "sts",
            Check::HighUid,
            "the image's files and the sdc-kubernetes data volumes belong to uid 1000",
        )]
    }

    fn build(p: &SdcElasticsearchParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let config = render_config(p, true)?;
        let checksum = sha256_hex(&render_config(p, false)?);
        Ok(vec![
            Object::new(Self::NAME, "serviceAccount", &service_account()),
            Object::new(Self::NAME, "config", &config_map(config)),
            Object::new(Self::NAME, "svc", &service(NAME, false)),
            Object::new(Self::NAME, "discoverySvc", &service(DISCOVERY_SERVICE, true)),
            Object::new(Self::NAME, "sts", &stateful_set(p, cx, &checksum)?),
            Object::new(Self::NAME, "disruptionBudget", &disruption_budget(p)),
        ])
    }
}

fn metadata(name: &str) -> ObjectMeta {
    meta::namespaced(name, sdc::NAMESPACE, sdc::labels(ROLE))
}

/// `sdc-elasticsearch-0` .. `sdc-elasticsearch-{replicas-1}`.
fn pod_names(replicas: u32) -> Vec<String> {
    (0..replicas).map(|i| format!("{NAME}-{i}")).collect()
}

#[derive(Serialize)]
struct ConfigContext<'a> {
    major: u32,
    zen: bool,
    cluster_name: &'a str,
    http_port: i32,
    transport_port: i32,
    data_path: String,
    seed_host: String,
    quorum: u32,
    initial_master_nodes: Vec<String>,
    mmap_setting: &'static str,
    allow_mmap: bool,
}

/// Renders `elasticsearch.yml` for the image's major version. Without `bootstrap`, the
/// 7.x-and-later `cluster.initial_master_nodes` list is left empty: the `checksum/config`
/// annotation hashes that rendering, because a formed cluster ignores the list and
/// scaling must not restart every node. (On 6.x the quorum is real configuration, and a
/// change of it rolls the pods.)
fn render_config(p: &SdcElasticsearchParams, bootstrap: bool) -> Result<String, Error> {
    let major = p.major();
    let zen = major < 7;
    let cx = ConfigContext {
        major,
        zen,
        cluster_name: &p.cluster_name,
        http_port: HTTP_PORT,
        transport_port: TRANSPORT_PORT,
        data_path: format!("{ES_HOME}/data"),
        seed_host: format!("{DISCOVERY_SERVICE}.{}.svc", sdc::NAMESPACE),
        quorum: p.quorum(),
        initial_master_nodes: if bootstrap { pod_names(p.replicas) } else { Vec::new() },
        // 6.7 introduced the setting as `allow_mmapfs`; 7.0 renamed it.
        mmap_setting: if zen { "node.store.allow_mmapfs" } else { "node.store.allow_mmap" },
        allow_mmap: p.sysctl_init_container,
    };
    render_template("elasticsearch.yml.j2", ES_CONFIG_TEMPLATE, cx)
}

/// No API token is mounted: Elasticsearch discovers its peers through DNS.
fn service_account() -> ServiceAccount {
    rbac::service_account(metadata(NAME), Some(false))
}

fn config_map(text: String) -> ConfigMap {
    ConfigMap {
        metadata: metadata(NAME),
        data: Some(BTreeMap::from([(CONFIG_KEY.to_string(), text)])),
        ..Default::default()
    }
}

/// Both Services are headless. `sdc-elasticsearch` (the original's, the StatefulSet's
/// serviceName) lists ready nodes for the backend; the discovery Service lists every pod,
/// because nodes must find each other before any of them can be ready.
fn service(name: &str, discovery: bool) -> Service {
    let transport = tcp_port(TRANSPORT_PORT_NAME, TRANSPORT_PORT, TRANSPORT_CONTAINER_PORT);
    let (kind, ports) = if discovery {
        (ServiceKind::HeadlessPublishingNotReady, vec![transport])
    } else {
        (ServiceKind::Headless, vec![tcp_port(HTTP_PORT_NAME, HTTP_PORT, HTTP_PORT_NAME), transport])
    };
    PodService { kind, selector: sdc::selector_labels(ROLE), ports }.build(metadata(name))
}

/// `minAvailable` is the quorum, so evictions stop before the cluster would lose its
/// elected master.
fn disruption_budget(p: &SdcElasticsearchParams) -> PodDisruptionBudget {
    pdb::disruption_budget(metadata(NAME), Budget::MinAvailable(p.quorum() as i32), sdc::selector(ROLE))
}

fn elasticsearch_container(p: &SdcElasticsearchParams) -> Container {
    es_node::NodeContainer {
        name: ES_CONTAINER,
        image: &p.image,
        heap_mib: p.heap_mib(),
        resources: &p.resources,
        http: (HTTP_PORT_NAME, HTTP_PORT),
        transport: (TRANSPORT_CONTAINER_PORT, TRANSPORT_PORT),
        config_key: CONFIG_KEY,
    }
    .build()
}

fn pod_annotations(p: &SdcElasticsearchParams, checksum: &str) -> BTreeMap<String, String> {
    let mut a = BTreeMap::from([
        ("checksum/config".to_string(), checksum.to_string()),
        ("kubectl.kubernetes.io/default-container".to_string(), ES_CONTAINER.to_string()),
    ]);
    if p.sysctl_init_container {
        a.insert(
            SECURITY_EXCEPTION_ANNOTATION.into(),
            format!(
                "init container `{SYSCTL_CONTAINER}` runs privileged as root to raise the node's vm.max_map_count \
                 to {MAX_MAP_COUNT} (not a namespaced sysctl), so that Elasticsearch may mmap its indices \
                 (`sysctl_init_container: true`)"
            ),
        );
    }
    a
}

fn stateful_set(p: &SdcElasticsearchParams, cx: &Context, checksum: &str) -> Result<StatefulSet, Error> {
    let selector = sdc::selector(ROLE);
    let mut init_containers = Vec::new();
    if p.sysctl_init_container {
        init_containers.push(es_node::sysctl_container(SYSCTL_CONTAINER, &p.image));
    }
    init_containers.push(es_node::copy_config_container(&p.image));
    let replicas = i32::try_from(p.replicas).map_err(|_| Error::invalid("replicas is too large"))?;

    let pod = PodSpec {
        service_account_name: Some(NAME.into()),
        automount_service_account_token: Some(false),
        security_context: Some(pod_security(ES_UID, ES_GID, ES_UID)),
        // Room to finish in-flight requests and hand shards over cleanly.
        termination_grace_period_seconds: Some(120),
        image_pull_secrets: sdc::pull_secrets(&p.image_pull_secrets),
        affinity: Some(spread_over_nodes(&selector, 100)),
        topology_spread_constraints: Some(vec![spread_over_zones(&selector, &cx.platform.zone_label)]),
        init_containers: Some(init_containers),
        containers: vec![elasticsearch_container(p)],
        volumes: Some(vec![
            Volume {
                name: "config".into(),
                config_map: Some(ConfigMapVolumeSource { name: NAME.into(), ..Default::default() }),
                ..Default::default()
            },
            empty_dir("config-dir"),
            empty_dir("logs"),
            empty_dir("tmp"),
        ]),
        ..Default::default()
    };

    Ok(DatastoreSet {
        name: NAME,
        namespace: sdc::NAMESPACE,
        role: ROLE,
        replicas,
        // Every initial master must start for the cluster to form; none is ready before.
        pod_management_policy: "Parallel",
        retain_claims: true,
        annotations: pod_annotations(p, checksum),
        pod,
        claims: Some(vec![sdc::data_claim_template(p.storage_class_name(), &p.storage)]),
    }
    .build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing;
    use crate::common::testing::{find, path_of};
    use crate::quantity::Quantity;
    use crate::Stack;
    use serde_json::{json, Value};

    fn build(p: &SdcElasticsearchParams) -> Vec<Object> {
        SdcElasticsearch::build(p, &Context::default()).expect("parameters build")
    }

    fn with(f: impl FnOnce(&mut SdcElasticsearchParams)) -> SdcElasticsearchParams {
        testing::with(f)
    }

    fn error_of(p: &SdcElasticsearchParams) -> Error {
        SdcElasticsearch::build(p, &Context::default()).expect_err("parameters are rejected")
    }

    fn config_of(objects: &[Object]) -> String {
        find(objects, "config").value["data"]["elasticsearch.yml"].as_str().unwrap_or("").to_string()
    }

    fn checksum(p: &SdcElasticsearchParams) -> String {
        let objects = build(p);
        let sts = &find(&objects, "sts").value;
        let sum = sts["spec"]["template"]["metadata"]["annotations"]["checksum/config"].as_str().unwrap_or("");
        assert_eq!(sum.len(), 64);
        sum.to_string()
    }

    #[test]
    fn default_build_has_the_original_names_and_keys() {
        let objects = build(&SdcElasticsearchParams::default());
        let got: Vec<(&str, &str, &str)> = objects.iter().map(|o| (o.key.as_str(), o.kind(), o.name())).collect();
        assert_eq!(
            got,
            [
                ("serviceAccount", "ServiceAccount", "sdc-elasticsearch"),
                ("config", "ConfigMap", "sdc-elasticsearch"),
                ("svc", "Service", "sdc-elasticsearch"),
                ("discoverySvc", "Service", "sdc-elasticsearch-discovery"),
                ("sts", "StatefulSet", "sdc-elasticsearch"),
                ("disruptionBudget", "PodDisruptionBudget", "sdc-elasticsearch"),
            ]
        );
        for o in &objects {
            assert_eq!(o.namespace(), "sysdigcloud", "{}", o.key);
            assert_eq!(o.component, "sdc_elasticsearch");
            assert!(["v1", "apps/v1", "policy/v1"].contains(&o.api_version()), "{} uses {}", o.key, o.api_version());
            assert_eq!(o.value["metadata"]["labels"]["app"], "sysdigcloud", "{}", o.key);
            assert_eq!(o.value["metadata"]["labels"]["role"], "elasticsearch", "{}", o.key);
        }
        let sts = &find(&objects, "sts").value["spec"];
        assert_eq!(sts["replicas"], 3);
        assert_eq!(sts["serviceName"], "sdc-elasticsearch");
        assert_eq!(sts["selector"]["matchLabels"], json!({"app": "sysdigcloud", "role": "elasticsearch"}));
        let claim = &sts["volumeClaimTemplates"][0];
        assert_eq!(claim["metadata"], json!({"name": "data"}));
        assert_eq!(claim["spec"]["storageClassName"], "sysdigcloud-fast");
        assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "40Gi");
        let c = &sts["template"]["spec"]["containers"][0];
        assert_eq!(c["name"], "elasticsearch");
        assert_eq!(c["image"], DEFAULT_IMAGE);
        assert_eq!(c["volumeMounts"][0], json!({"name": "data", "mountPath": "/usr/share/elasticsearch/data"}));
    }

    #[test]
    fn services_are_headless_and_only_discovery_lists_unready_pods() {
        let objects = build(&SdcElasticsearchParams::default());
        let svc = &find(&objects, "svc").value["spec"];
        assert_eq!(svc["clusterIP"], "None");
        assert!(svc.get("publishNotReadyAddresses").is_none());
        let ports: Vec<(&str, i64)> = svc["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| (p["name"].as_str().unwrap_or(""), p["port"].as_i64().unwrap_or(0)))
            .collect();
        assert_eq!(ports, [("api", 9200), ("transport-protocol", 9300)]);
        let discovery = &find(&objects, "discoverySvc").value["spec"];
        assert_eq!(discovery["clusterIP"], "None");
        assert_eq!(discovery["publishNotReadyAddresses"], true);
        assert_eq!(discovery["ports"][0]["port"], 9300);
        let config = config_of(&objects);
        assert!(
            config.contains("discovery.seed_hosts:\n  - \"sdc-elasticsearch-discovery.sysdigcloud.svc\"\n"),
            "{config}"
        );
    }

    #[test]
    fn config_for_7_and_later_bootstraps_every_pod_as_master() {
        let objects = build(&with(|p| p.replicas = 5));
        let config = config_of(&objects);
        for i in 0..5 {
            assert!(config.contains(&format!("  - \"sdc-elasticsearch-{i}\"\n")), "{config}");
        }
        assert!(!config.contains("sdc-elasticsearch-5\""), "{config}");
        assert!(config.contains("cluster.name: \"sysdigcloud\"\n"), "{config}");
        assert!(config.contains("transport.port: 9300\n"), "{config}");
        assert!(config.contains("node.store.allow_mmap: false\n"), "{config}");
        assert!(config.contains("xpack.security.enabled: false\n"), "{config}");
        assert!(config.contains("ingest.geoip.downloader.enabled: false\n"), "{config}");
        assert!(!config.contains("zen"), "{config}");
        assert!(!config.contains("{{") && !config.contains("{%"), "{config}");
        // 7.17: no geoip setting (known since 7.14, but off only matters on 8).
        let config =
            config_of(&build(&with(|p| p.image = "docker.elastic.co/elasticsearch/elasticsearch:7.17.29".into())));
        assert!(config.contains("cluster.initial_master_nodes:\n"), "{config}");
        assert!(!config.contains("geoip"), "{config}");
    }

    #[test]
    fn config_for_6_uses_zen_with_the_quorum() {
        let p = with(|p| {
            p.image = "docker.elastic.co/elasticsearch/elasticsearch:6.8.23".into();
            p.replicas = 5;
        });
        let config = config_of(&build(&p));
        assert!(
            config.contains("discovery.zen.ping.unicast.hosts:\n  - \"sdc-elasticsearch-discovery.sysdigcloud.svc\"\n")
        );
        assert!(config.contains("discovery.zen.minimum_master_nodes: 3\n"), "{config}");
        assert!(config.contains("transport.tcp.port: 9300\n"), "{config}");
        assert!(config.contains("node.store.allow_mmapfs: false\n"), "{config}");
        assert!(!config.contains("initial_master_nodes") && !config.contains("seed_hosts"), "{config}");
        assert!(!config.contains("geoip"), "{config}");
        // On 6.x the quorum is configuration: changing it rolls the pods.
        assert_ne!(
            checksum(&p),
            checksum(&with(|q| {
                q.image = p.image.clone();
                q.replicas = 5;
                q.min_master_nodes = Some(4);
            }))
        );
    }

    #[test]
    fn major_version_comes_from_the_tag_or_the_parameter() {
        assert_eq!(tag_version(DEFAULT_IMAGE), Some((8, Some(19))));
        assert_eq!(tag_version("mirror.local:5000/es/elasticsearch:6.8.23@sha256:abc"), Some((6, Some(8))));
        assert_eq!(tag_version("elasticsearch:7"), Some((7, None)));
        assert_eq!(tag_version("mirror.local:5000/elasticsearch"), None);
        assert_eq!(tag_version("elasticsearch:latest"), None);

        let e = error_of(&with(|p| p.image = "mirror.local/elasticsearch:latest".into()));
        assert_eq!(path_of(&e), "sdc_elasticsearch.image");
        assert!(e.helps().iter().any(|h| h.contains("major_version")), "{:?}", e.helps());
        let p = with(|p| {
            p.image = "mirror.local/elasticsearch:latest".into();
            p.major_version = Some(6);
        });
        assert!(config_of(&build(&p)).contains("discovery.zen.minimum_master_nodes: 2\n"));
        let e = error_of(&with(|p| p.major_version = Some(7)));
        assert_eq!(path_of(&e), "sdc_elasticsearch.major_version");
        assert!(e.to_string().contains("contradicts"), "{e}");
        for image in ["elasticsearch:5.6.16", "elasticsearch:10.0.0", "elasticsearch:6.1.1"] {
            let e = error_of(&with(|p| p.image = image.into()));
            assert_eq!(path_of(&e), "sdc_elasticsearch.image", "{image}");
        }
        let e = error_of(&with(|p| {
            p.image = "mirror.local/elasticsearch:latest".into();
            p.major_version = Some(5);
        }));
        assert_eq!(path_of(&e), "sdc_elasticsearch.major_version");
    }

    #[test]
    fn quorum_is_derived_from_replicas() {
        for (replicas, quorum) in [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (7, 4)] {
            let p = with(|p| p.replicas = replicas);
            assert_eq!(p.quorum(), quorum, "replicas {replicas}");
            let objects = build(&p);
            assert_eq!(find(&objects, "disruptionBudget").value["spec"]["minAvailable"], quorum);
        }
    }

    #[test]
    fn split_brain_min_master_nodes_is_an_error() {
        let e = error_of(&with(|p| {
            p.replicas = 5;
            p.min_master_nodes = Some(2);
        }));
        assert_eq!(path_of(&e), "sdc_elasticsearch.min_master_nodes");
        assert!(e.to_string().contains("allows split brain"), "{e}");
        assert!(e.helps().iter().any(|h| h.contains("`3`")), "{:?}", e.helps());
        let e = error_of(&with(|p| {
            p.replicas = 4;
            p.min_master_nodes = Some(2);
        }));
        assert!(e.to_string().contains("allows split brain"), "{e}");
        let e = error_of(&with(|p| p.min_master_nodes = Some(4)));
        assert!(e.to_string().contains("could never be met"), "{e}");
        assert_eq!(path_of(&error_of(&with(|p| p.replicas = 0))), "sdc_elasticsearch.replicas");
        let objects = build(&with(|p| {
            p.replicas = 5;
            p.min_master_nodes = Some(4);
        }));
        assert_eq!(find(&objects, "disruptionBudget").value["spec"]["minAvailable"], 4);
    }

    #[test]
    fn heap_sets_equal_xms_and_xmx_within_the_limit() {
        let objects = build(&SdcElasticsearchParams::default());
        let env = &find(&objects, "sts").value["spec"]["template"]["spec"]["containers"][0]["env"];
        let opts = env.as_array().into_iter().flatten().find(|e| e["name"] == "ES_JAVA_OPTS").expect("ES_JAVA_OPTS");
        assert_eq!(opts["value"], "-Xms4096m -Xmx4096m");
        let e = error_of(&with(|p| p.heap = Quantity::from("7Gi")));
        assert_eq!(path_of(&e), "sdc_elasticsearch.heap");
        assert!(e.helps().iter().any(|h| h.contains("9558Mi") && h.contains("6144Mi")), "{:?}", e.helps());
        build(&with(|p| p.heap = Quantity::from("6Gi")));
        assert_eq!(path_of(&error_of(&with(|p| p.heap = Quantity::from("4G")))), "sdc_elasticsearch.heap");
        assert_eq!(path_of(&error_of(&with(|p| p.heap = Quantity::from("128Mi")))), "sdc_elasticsearch.heap");
        let e = error_of(&with(|p| p.resources = crate::common::pod::Resources::new("2", "9Gi", None, "8Gi")));
        assert_eq!(path_of(&e), "sdc_elasticsearch.resources");
    }

    #[test]
    fn names_storage_and_pull_secrets_are_validated() {
        assert_eq!(
            path_of(&error_of(&with(|p| p.cluster_name = "sysdig cloud".into()))),
            "sdc_elasticsearch.cluster_name"
        );
        assert_eq!(path_of(&error_of(&with(|p| p.storage = Quantity::from("0")))), "sdc_elasticsearch.storage");
        let e = error_of(&with(|p| p.storage_class = Some("Fast!".into())));
        assert_eq!(path_of(&e), "sdc_elasticsearch.storage_class");
        let e = error_of(&with(|p| p.image_pull_secrets = vec!["UPPER".into()]));
        assert_eq!(path_of(&e), "sdc_elasticsearch.image_pull_secrets[0]");
        assert_eq!(path_of(&error_of(&with(|p| p.image = String::new()))), "sdc_elasticsearch.image");

        let p = with(|p| {
            p.storage_class = Some("gce-pd".into());
            p.image_pull_secrets = vec!["mirror-login".into()];
        });
        let objects = build(&p);
        let sts = &find(&objects, "sts").value["spec"];
        assert_eq!(sts["volumeClaimTemplates"][0]["spec"]["storageClassName"], "gce-pd");
        assert_eq!(sts["template"]["spec"]["imagePullSecrets"], json!([{"name": "mirror-login"}]));
        assert_eq!(
            SdcElasticsearch::externals(&p, &Context::default()),
            [("Secret".to_string(), "sysdigcloud".to_string(), "mirror-login".to_string())]
        );
    }

    #[test]
    fn every_container_has_requests_and_limits_and_runs_locked_down() {
        let objects = build(&SdcElasticsearchParams::default());
        let sts = &find(&objects, "sts").value;
        let pod = &sts["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_eq!(pod["securityContext"]["runAsUser"], 1000);
        assert_eq!(pod["securityContext"]["fsGroup"], 1000);
        assert_eq!(pod["automountServiceAccountToken"], false);
        assert_eq!(find(&objects, "serviceAccount").value["automountServiceAccountToken"], false);
        let containers = pod["containers"].as_array().into_iter().flatten();
        for c in containers.chain(pod["initContainers"].as_array().into_iter().flatten()) {
            let name = &c["name"];
            assert!(c["resources"]["requests"]["memory"].is_string(), "{name}");
            assert!(c["resources"]["limits"]["memory"].is_string(), "{name}");
            assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true, "{name}");
            assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false, "{name}");
            assert_eq!(c["securityContext"]["capabilities"]["drop"], json!(["ALL"]), "{name}");
        }
        assert_eq!(crate::namespaces::pod_security_level(sts), "restricted");
    }

    #[test]
    fn sysctl_init_container_is_privileged_says_why_and_turns_mmap_on() {
        let objects = build(&with(|p| p.sysctl_init_container = true));
        let tpl = &find(&objects, "sts").value["spec"]["template"];
        let why = tpl["metadata"]["annotations"][SECURITY_EXCEPTION_ANNOTATION].as_str().unwrap_or("");
        assert!(why.contains("vm.max_map_count"), "{why}");
        let init = &tpl["spec"]["initContainers"][0];
        assert_eq!(init["name"], "sysctl");
        assert_eq!(init["securityContext"]["privileged"], true);
        assert!(config_of(&objects).contains("node.store.allow_mmap: true\n"));
        assert_eq!(crate::namespaces::pod_security_level(&find(&objects, "sts").value), "privileged");
        let default = build(&SdcElasticsearchParams::default());
        let tpl = &find(&default, "sts").value["spec"]["template"];
        assert!(tpl["metadata"]["annotations"].get(SECURITY_EXCEPTION_ANNOTATION).is_none());
        let inits: Vec<&str> =
            tpl["spec"]["initContainers"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).collect();
        assert_eq!(inits, ["copy-config"]);
    }

    #[test]
    fn config_checksum_rolls_pods_on_config_changes_only() {
        let base = checksum(&SdcElasticsearchParams::default());
        assert_eq!(base, checksum(&SdcElasticsearchParams::default()), "deterministic");
        let cm = find(&build(&SdcElasticsearchParams::default()), "config").value.clone();
        assert_ne!(base, sha256_hex(""), "{cm}");
        assert_ne!(base, checksum(&with(|p| p.cluster_name = "events".into())));
        assert_ne!(base, checksum(&with(|p| p.sysctl_init_container = true)));
        // A formed cluster ignores the bootstrap list: scaling does not restart every node.
        assert_eq!(base, checksum(&with(|p| p.replicas = 5)));
        assert_eq!(base, checksum(&with(|p| p.heap = Quantity::from("2Gi"))));
    }

    #[test]
    fn config_map_holds_no_secret() {
        for p in [SdcElasticsearchParams::default(), with(|p| p.image = "elasticsearch:6.8.23".into())] {
            let objects = build(&p);
            for o in objects.iter().filter(|o| o.kind() == "ConfigMap") {
                for (k, v) in o.value["data"].as_object().into_iter().flatten() {
                    let text = format!("{k}\n{}", v.as_str().unwrap_or("")).to_lowercase();
                    for word in ["password", "passwd", "secret", "token", "license", "api_key", "apikey", "private key"]
                    {
                        assert!(!text.contains(word), "{}/{k} mentions {word}", o.name());
                    }
                }
            }
            assert!(objects.iter().all(|o| o.kind() != "Secret"));
        }
    }

    #[test]
    fn probes_and_selectors() {
        let mut cx = Context::default();
        cx.platform.zone_label = "topology.kubernetes.io/zone".into();
        let objects = SdcElasticsearch::build(&SdcElasticsearchParams::default(), &cx).expect("builds");
        let sts = &find(&objects, "sts").value;
        let spec = &sts["spec"]["template"]["spec"];
        let es = &spec["containers"][0];
        assert_eq!(es["readinessProbe"]["httpGet"]["path"], "/_cluster/health?local=true");
        assert_eq!(es["readinessProbe"]["httpGet"]["port"], "api");
        assert_eq!(es["livenessProbe"]["tcpSocket"]["port"], "transport");
        assert_eq!(es["startupProbe"]["tcpSocket"]["port"], "transport");
        let pod_labels = sts["spec"]["template"]["metadata"]["labels"].as_object().expect("pod labels");
        let matches = |selector: &Value| {
            let sel = selector.as_object().expect("a selector");
            !sel.is_empty() && sel.iter().all(|(k, v)| pod_labels.get(k) == Some(v))
        };
        for key in ["svc", "discoverySvc"] {
            assert_eq!(
                find(&objects, key).value["spec"]["selector"],
                json!({"app": "sysdigcloud", "role": "elasticsearch"})
            );
        }
        assert!(matches(&sts["spec"]["selector"]["matchLabels"]));
        assert!(matches(&find(&objects, "disruptionBudget").value["spec"]["selector"]["matchLabels"]));
        let term = &spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
            ["podAffinityTerm"];
        assert!(matches(&term["labelSelector"]["matchLabels"]));
        assert_eq!(term["topologyKey"], "kubernetes.io/hostname");
        let spread = &spec["topologySpreadConstraints"][0];
        assert!(matches(&spread["labelSelector"]["matchLabels"]));
        assert_eq!(spread["topologyKey"], "topology.kubernetes.io/zone");
        assert_eq!(sts["spec"]["podManagementPolicy"], "Parallel");
    }

    #[test]
    fn every_object_round_trips() {
        for p in [
            SdcElasticsearchParams::default(),
            with(|p| {
                p.sysctl_init_container = true;
                p.image_pull_secrets = vec!["pull".into()];
            }),
            with(|p| p.image = "docker.elastic.co/elasticsearch/elasticsearch:6.8.23".into()),
        ] {
            for mut o in build(&p) {
                let before = o.value.clone();
                o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
                assert_eq!(before, o.value, "{} changed in the round trip", o.key);
            }
        }
    }

    #[test]
    fn defaults_serialize_and_read_back() {
        let json = serde_json::to_value(SdcElasticsearchParams::default()).expect("serializes");
        assert_eq!(json["min_master_nodes"], Value::Null);
        assert_eq!(json["major_version"], Value::Null);
        let back: SdcElasticsearchParams = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, SdcElasticsearchParams::default());
        assert!(serde_json::from_value::<SdcElasticsearchParams>(json!({"replica": 5})).is_err());
    }

    #[test]
    fn full_render_passes_reference_checks_on_every_platform() {
        for platform in ["eks", "gke", "onprem"] {
            let mut s = Stack::new();
            s.platform(platform, "test").expect("platform");
            s.set("config.dns_zone=example.com", false).expect("set");
            s.set("platform.components.sdc_elasticsearch=true", false).expect("enable");
            s.set("platform.components.sdc_storage=true", false).expect("enable");
            s.set("sdc_elasticsearch.replicas=5", false).expect("set");
            let r = s
                .render(&[&SdcElasticsearch, &crate::sdc_storage::SdcStorage])
                .unwrap_or_else(|e| panic!("{platform}: {}", e.render()));
            let sts = r.objects.iter().find(|o| o.kind() == "StatefulSet").expect("sts");
            assert_eq!(sts.value["spec"]["replicas"], 5);
            let pdb = r.objects.iter().find(|o| o.kind() == "PodDisruptionBudget").expect("pdb");
            assert_eq!(pdb.value["spec"]["minAvailable"], 3);
        }
        let mut s = Stack::new();
        s.platform("eks", "test").expect("platform");
        s.set("platform.components.sdc_elasticsearch=true", false).expect("enable");
        s.set("sdc_elasticsearch.min_master_nodes=1", false).expect("set");
        let e = s.render(&[&SdcElasticsearch]).expect_err("split brain");
        assert_eq!(e.error().path().map(ToString::to_string).as_deref(), Some("sdc_elasticsearch.min_master_nodes"));
    }
}
