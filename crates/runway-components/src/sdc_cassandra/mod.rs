//! Cassandra for the Sysdig on-prem backend (its metric store): sdc-kubernetes'
//! `datastores/sdc-cassandra.yaml` rebuilt on the official image, rack-aware across zones.
//!
//! # Adopting an sdc-kubernetes install in place
//!
//! The names are the original's: StatefulSet and headless Service `sdc-cassandra` in
//! `sysdigcloud`, labels `app: sysdigcloud, role: cassandra`, the selector the original's
//! `apps/v1beta1` StatefulSet defaulted to (its template labels, which is exactly
//! `sdc::selector("cassandra")`), container `cassandra`, claim template `data` without
//! labels, so the claims `data-sdc-cassandra-N` and their data are reused. The original's
//! snitch is kept on its clouds (`Ec2Snitch` on aws with Cassandra 2.x's `legacy` naming,
//! `GoogleCloudSnitch` on gcp), and so are `cluster_name: sysdigcloud` and 256 tokens per
//! node: Cassandra refuses to start a node whose cluster name, datacenter, rack or token
//! count changed.
//!
//! What an operator does on adoption:
//! - A StatefulSet's claim templates are immutable, and the original's named the class
//!   `aws-blazing-mutli-az` (aws) or `gce-pd` (gke). Either set `storage_class` (and
//!   `storage`) to the original's, and `kubectl apply` updates the StatefulSet in place, or
//!   delete it with `kubectl -n sysdigcloud delete statefulset sdc-cassandra
//!   --cascade=orphan` first: the pods keep running and the new StatefulSet adopts them and
//!   their claims.
//! - The image moves from `yofti/cassandra:2.2.11` to the official `cassandra:5.0.8`.
//!   Cassandra upgrades one major version at a time: set `image` to `cassandra:3.11`, roll,
//!   run `nodetool upgradesstables` on every node, then `cassandra:4.1`, the same again, and
//!   only then remove `image`. The data stays at `/var/lib/cassandra`; the pods now run as
//!   the image's uid 999 and `fsGroup: 999` hands the existing files to its group on the
//!   first start.
//! - The original fed `JVM_EXTRA_OPTS`, `CASSANDRA_SECURE` and `CASSANDRA_SSL` from the
//!   `sysdigcloud-config` ConfigMap to its own image's entrypoint. The official image knows
//!   neither of the last two (authentication and TLS stay off, as the original's defaults);
//!   the JVM options are the `jvm_extra_opts` parameter, and the heap `heap`.
//! - Thrift (9160) is gone since Cassandra 4.0. The port stays on the Service, as the
//!   original's, but nothing listens on it: the backend speaks CQL (9042).
//!
//! # Racks across zones
//!
//! The original's lowlight "AWS snitch for Cassandra" is fixed on every platform. On aws
//! and gcp the cloud snitch reads the zone from the instance metadata (on EKS the pods must
//! reach IMDS: a hop limit of 2). Elsewhere (and with `snitch: GossipingPropertyFileSnitch`
//! anywhere) the rack is the zone label (`platform.zone_label`) of the node the pod runs
//! on. The downward API does not show node labels to pods, so an init container `rackdc`
//! reads its node through the API and writes `cassandra-rackdc.properties`; it is the only
//! container with an API token (a projected token volume mounted into it alone: the pod's
//! `automountServiceAccountToken` is off), and its ServiceAccount may only `get nodes`. The
//! first start saves the pair on the data volume, and later starts reuse it, because a
//! node's rack may never change. The pods spread across zones (topology spread on the zone
//! label) and hosts, so that racks hold equal shares of the ring. Racks place replicas
//! only for keyspaces with `NetworkTopologyStrategy`.
//!
//! # Lifecycle
//!
//! Seeds are the first `seeds` pods by their stable names through the headless Service,
//! which publishes pods before they are ready (a starting node must resolve a seed, and a
//! seed's own first start must resolve itself). Pods start one at a time
//! (`OrderedReady`): a node joins the ring only after the one before it is Up/Normal,
//! which is what the readiness probe checks (`nodetool status` shows `UN` for the pod's
//! IP). `preStop` runs `nodetool drain`, which flushes memtables so that the next start
//! replays no commit log. The PodDisruptionBudget lets one node be evicted at a time,
//! which a replication factor of 3 at QUORUM survives.
//!
//! # Security
//!
//! Every container runs as uid 999 with all capabilities dropped, RuntimeDefault seccomp
//! and a read-only root filesystem; the pods pass the `restricted` Pod Security Standard
//! unless `sysctl_init_container` is on. The image's entrypoint edits `cassandra.yaml` in
//! place, so an init container copies `/etc/cassandra` into an emptyDir mounted there;
//! logs and `/tmp` are emptyDirs too. The original's `IPC_LOCK` capability is dropped:
//! without it Cassandra only logs that it cannot lock the JVM's memory.

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    ConfigMapProjection, Container, ContainerPort, ExecAction, KeyToPath, Lifecycle, LifecycleHandler, PodSpec, Probe,
    ProjectedVolumeSource, SecurityContext, Service, ServiceAccount, ServiceAccountTokenProjection, TCPSocketAction,
    Volume, VolumeMount, VolumeProjection,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use runway_core::refs::ExternalRef;
use runway_core::{Error, Object};

pub use self::params::{Ec2NamingScheme, SdcCassandraParams, Snitch, AWS_STORAGE, DEFAULT_IMAGE, OTHER_STORAGE};
use crate::common::env::{field_env, value_env as env};
use crate::common::meta;
use crate::common::pdb::{self, Budget};
use crate::common::pod::{container_security, pod_security, Resources, SECURITY_EXCEPTION_ANNOTATION};
use crate::common::pod::{empty_dir, mount};
use crate::common::pod::{spread_over_nodes, spread_over_zones};
use crate::common::rbac::{self, Grant};
use crate::common::service::{tcp_port, PodService, ServiceKind};
use crate::component::{Component, ObjectDoc};
use crate::context::Context;
use crate::sdc;
use crate::sdc::DatastoreSet;

/// The StatefulSet, its headless Service, ServiceAccount and PodDisruptionBudget.
pub const NAME: &str = sdc::services::CASSANDRA;
/// The `role` label value.
pub const ROLE: &str = "cassandra";
/// The ClusterRole and ClusterRoleBinding that let the `rackdc` init container read its
/// node (cluster-scoped, so the name says whose they are).
pub const NODE_READER: &str = "sysdigcloud-cassandra-node-reader";
/// CQL, the port the backend connects to.
pub const CQL_PORT: i32 = sdc::services::CASSANDRA_CQL_PORT as i32;
/// Thrift: on the Service as in the original; Cassandra 4.0 and later do not serve it.
pub const THRIFT_PORT: i32 = 9160;
/// Gossip and streaming between nodes.
pub const INTRA_NODE_PORT: i32 = 7000;
/// The same over TLS.
pub const TLS_INTRA_NODE_PORT: i32 = 7001;
/// JMX (nodetool); Cassandra binds it to localhost.
pub const JMX_PORT: i32 = 7199;

const CASSANDRA_CONTAINER: &str = "cassandra";
const COPY_CONFIG_CONTAINER: &str = "copy-config";
const RACKDC_CONTAINER: &str = "rackdc";
const SYSCTL_CONTAINER: &str = "sysctl";
const CONF_DIR: &str = "/etc/cassandra";
const DATA_DIR: &str = "/var/lib/cassandra";
const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// Where the `rackdc` init container keeps a node's datacenter and rack (data volume).
const SAVED_RACKDC: &str = "/var/lib/cassandra/sdc-rackdc.properties";
const TOKEN_VOLUME: &str = "kube-api-access";
/// The value Cassandra's startup check recommends.
const MAX_MAP_COUNT: u32 = 1_048_575;
/// The official image's `cassandra` user and group.
const CASSANDRA_UID: i64 = 999;
/// Seconds `nodetool drain` has to flush the memtables of a large heap.
const TERMINATION_GRACE_SECONDS: i64 = 300;

/// The `rackdc` init container's script (python3 ships in the image, for cqlsh).
const RACKDC_SCRIPT: &str = include_str!("rackdc.py");

/// Cassandra for the Sysdig backend.
pub struct SdcCassandra;

impl Component for SdcCassandra {
    const NAME: &'static str = "sdc_cassandra";
    const SUMMARY: &'static str =
        "Cassandra for the Sysdig backend (sdc-cassandra): zone-aware racks, seeds through the headless Service";
    const DEFAULT_ENABLED: bool = false;
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc { key: "serviceAccount", kind: "ServiceAccount", doc: "the pods' identity; no token automounted" },
        ObjectDoc {
            key: "clusterRole",
            kind: "ClusterRole",
            doc: "`get nodes`, for the `rackdc` init container (GossipingPropertyFileSnitch only)",
        },
        ObjectDoc {
            key: "clusterRoleBinding",
            kind: "ClusterRoleBinding",
            doc: "binds the ClusterRole to the ServiceAccount (GossipingPropertyFileSnitch only)",
        },
        ObjectDoc { key: "svc", kind: "Service", doc: "headless `sdc-cassandra`: seeds, CQL, the serviceName" },
        ObjectDoc { key: "sts", kind: "StatefulSet", doc: "the nodes" },
        ObjectDoc { key: "disruptionBudget", kind: "PodDisruptionBudget", doc: "one node evicted at a time" },
        ObjectDoc {
            key: "networkPolicy",
            kind: "NetworkPolicy",
            doc: "`sdc-cassandra`: gossip between nodes, CQL from the backend",
        },
    ];
    type Params = SdcCassandraParams;

    fn externals(p: &SdcCassandraParams, _: &Context) -> Vec<ExternalRef> {
        p.image_pull_secrets.iter().map(|s| ("Secret".to_string(), sdc::NAMESPACE.to_string(), s.clone())).collect()
    }

    fn network(_: &SdcCassandraParams, _: &Context) -> Vec<crate::network::Flows> {
        use crate::network::Flows;
        // Seeds and rack facts come from the API (the node reader's ClusterRole).
        vec![Flows::new("sts", "networkPolicy")
            .to_local(NAME, INTRA_NODE_PORT)
            .to_local(NAME, TLS_INTRA_NODE_PORT)
            .to_api_server()]
    }

    fn waivers(_: &SdcCassandraParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        vec![Waiver::new(
            "sts",
            Check::HighUid,
            "the cassandra image's files and the sdc-kubernetes data volumes belong to uid 999",
        )]
    }

    fn build(p: &SdcCassandraParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let snitch = p.snitch_for(cx);
        let mut objects = vec![Object::new(Self::NAME, "serviceAccount", &service_account())];
        if snitch == Snitch::GossipingPropertyFileSnitch {
            objects.push(Object::new(Self::NAME, "clusterRole", &node_reader_role()));
            objects.push(Object::new(Self::NAME, "clusterRoleBinding", &node_reader_binding()));
        }
        objects.push(Object::new(Self::NAME, "svc", &headless_service()));
        objects.push(Object::new(Self::NAME, "sts", &stateful_set(p, cx, snitch)?));
        objects.push(Object::new(Self::NAME, "disruptionBudget", &disruption_budget()));
        Ok(objects)
    }
}

fn metadata(name: &str) -> ObjectMeta {
    meta::namespaced(name, sdc::NAMESPACE, sdc::labels(ROLE))
}

/// `sdc-cassandra-0.sdc-cassandra.sysdigcloud.svc,...`: the first `seeds` pods' stable
/// names. Cluster-domain independent: the pods' DNS search path completes them.
pub fn seed_list(seeds: u32) -> String {
    (0..seeds).map(|i| format!("{NAME}-{i}.{NAME}.{}.svc", sdc::NAMESPACE)).collect::<Vec<_>>().join(",")
}

/// No token is automounted: only the `rackdc` init container gets one, through its own
/// projected volume.
fn service_account() -> ServiceAccount {
    rbac::service_account(metadata(NAME), Some(false))
}

/// Read access to nodes (cluster-scoped, so a ClusterRole): the zone label. Nothing else.
fn node_reader_role() -> ClusterRole {
    rbac::cluster_role(
        meta::cluster_scoped(NODE_READER, sdc::labels(ROLE)),
        vec![rbac::rule(&[""], &["nodes"], &["get"])],
    )
}

fn node_reader_binding() -> ClusterRoleBinding {
    Grant { role: NODE_READER, service_account: NAME, namespace: sdc::NAMESPACE }
        .cluster_role_binding(meta::cluster_scoped(NODE_READER, sdc::labels(ROLE)))
}

/// The ports, named and ordered as the original's Service.
const PORTS: [(&str, i32); 5] = [
    ("cql", CQL_PORT),
    ("thrift", THRIFT_PORT),
    ("intra-node", INTRA_NODE_PORT),
    ("tls-intra-node", TLS_INTRA_NODE_PORT),
    ("jmx", JMX_PORT),
];

/// The original's headless Service, listing pods before they are ready: seeds must
/// resolve while their nodes start (Cassandra refuses to start with no seed resolved).
fn headless_service() -> Service {
    PodService {
        kind: ServiceKind::HeadlessPublishingNotReady,
        selector: sdc::selector_labels(ROLE),
        ports: PORTS.iter().map(|(name, port)| tcp_port(name, *port, name)).collect(),
    }
    .build(metadata(NAME))
}

/// One node at a time may be evicted: with a replication factor of 3, QUORUM reads and
/// writes keep working.
fn disruption_budget() -> PodDisruptionBudget {
    pdb::disruption_budget(metadata(NAME), Budget::MaxUnavailable(1), sdc::selector(ROLE))
}

/// Small init containers.
fn small_resources() -> Resources {
    Resources::new("10m", "64Mi", None, "128Mi")
}

/// The readiness command: the node is Up/Normal in its own view of the ring. The IP is
/// compared as a whole field (the original's `egrep $(hostname -i)` also matched
/// 10.0.0.1 in 10.0.0.12).
const READY_COMMAND: &str = r#"nodetool status | awk -v ip="$POD_IP" '$2 == ip { print $1 }' | grep -qx UN"#;

fn cassandra_container(p: &SdcCassandraParams, snitch: Snitch) -> Container {
    let mut env_vars = vec![
        field_env("POD_IP", "status.podIP"),
        // Listen (and broadcast) on the pod's IP rather than the entrypoint's guess.
        env("CASSANDRA_LISTEN_ADDRESS", "$(POD_IP)"),
        env("CASSANDRA_SEEDS", seed_list(p.seeds)),
        env("CASSANDRA_CLUSTER_NAME", p.cluster_name.clone()),
        env("CASSANDRA_ENDPOINT_SNITCH", snitch.class_name()),
        env("CASSANDRA_NUM_TOKENS", p.num_tokens.to_string()),
        env("MAX_HEAP_SIZE", format!("{}M", p.heap_mib())),
        env("HEAP_NEWSIZE", format!("{}M", p.heap_newsize_mib())),
    ];
    if !p.jvm_extra_opts.is_empty() {
        env_vars.push(env("JVM_EXTRA_OPTS", p.jvm_extra_opts.clone()));
    }
    Container {
        name: CASSANDRA_CONTAINER.into(),
        image: Some(p.image.clone()),
        env: Some(env_vars),
        ports: Some(
            [
                ("intra-node", INTRA_NODE_PORT),
                ("tls-intra-node", TLS_INTRA_NODE_PORT),
                ("jmx", JMX_PORT),
                ("cql", CQL_PORT),
                ("thrift", THRIFT_PORT),
            ]
            .iter()
            .map(|(name, port)| ContainerPort {
                name: Some((*name).into()),
                container_port: *port,
                protocol: Some("TCP".into()),
                ..Default::default()
            })
            .collect(),
        ),
        resources: Some(p.resources.to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(vec![
            mount("data", DATA_DIR),
            mount("config", CONF_DIR),
            mount("logs", "/var/log/cassandra"),
            mount("tmp", "/tmp"),
        ]),
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(ExecAction { command: Some(vec!["/bin/sh".into(), "-c".into(), "nodetool drain".into()]) }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        // The storage port opens once the commit log is replayed, before the node
        // bootstraps: liveness never kills a node that streams its data in for hours.
        startup_probe: Some(Probe {
            tcp_socket: Some(TCPSocketAction { port: IntOrString::String("intra-node".into()), ..Default::default() }),
            period_seconds: Some(10),
            timeout_seconds: Some(5),
            failure_threshold: Some(90),
            ..Default::default()
        }),
        liveness_probe: Some(Probe {
            tcp_socket: Some(TCPSocketAction { port: IntOrString::String("intra-node".into()), ..Default::default() }),
            period_seconds: Some(20),
            timeout_seconds: Some(5),
            failure_threshold: Some(6),
            ..Default::default()
        }),
        // nodetool starts a JVM: a generous timeout, and not too often.
        readiness_probe: Some(Probe {
            exec: Some(ExecAction { command: Some(vec!["/bin/bash".into(), "-c".into(), READY_COMMAND.into()]) }),
            initial_delay_seconds: Some(15),
            period_seconds: Some(15),
            timeout_seconds: Some(15),
            failure_threshold: Some(3),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Copies the image's `/etc/cassandra` into the emptyDir mounted there, so the root
/// filesystem stays read-only while the entrypoint edits `cassandra.yaml`. With
/// `Ec2Snitch` it also sets the naming scheme in `cassandra-rackdc.properties`.
fn copy_config_container(p: &SdcCassandraParams, snitch: Snitch) -> Container {
    let mut script = format!("set -e\ncp -R {CONF_DIR}/. /mnt/config/\n");
    if snitch == Snitch::Ec2Snitch {
        let scheme = match p.ec2_naming_scheme {
            Ec2NamingScheme::Legacy => "legacy",
            Ec2NamingScheme::Standard => "standard",
        };
        script.push_str(&format!(
            "sed -i '/^ec2_naming_scheme=/d' /mnt/config/cassandra-rackdc.properties\n\
             echo 'ec2_naming_scheme={scheme}' >> /mnt/config/cassandra-rackdc.properties\n"
        ));
    }
    Container {
        name: COPY_CONFIG_CONTAINER.into(),
        image: Some(p.image.clone()),
        command: Some(vec!["/bin/sh".into(), "-c".into(), script]),
        resources: Some(small_resources().to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(vec![mount("config", "/mnt/config"), mount("tmp", "/tmp")]),
        ..Default::default()
    }
}

/// Writes `cassandra-rackdc.properties` from the node's zone label (see the module doc).
/// The only container with an API token.
fn rackdc_container(p: &SdcCassandraParams, cx: &Context) -> Container {
    Container {
        name: RACKDC_CONTAINER.into(),
        image: Some(p.image.clone()),
        command: Some(vec!["python3".into(), "-c".into(), RACKDC_SCRIPT.into()]),
        env: Some(vec![
            field_env("NODE_NAME", "spec.nodeName"),
            env("ZONE_LABEL", cx.platform.zone_label.clone()),
            env("DATACENTER", p.datacenter.clone()),
            env("DEFAULT_RACK", p.default_rack.clone()),
            env("SAVED_FILE", SAVED_RACKDC),
            env("OUT_FILE", "/mnt/config/cassandra-rackdc.properties"),
        ]),
        resources: Some(small_resources().to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(vec![
            mount("config", "/mnt/config"),
            mount("data", DATA_DIR),
            VolumeMount { read_only: Some(true), ..mount(TOKEN_VOLUME, SA_DIR) },
        ]),
        ..Default::default()
    }
}

/// A short-lived token for the `rackdc` init container, with the cluster's CA.
fn token_volume() -> Volume {
    Volume {
        name: TOKEN_VOLUME.into(),
        projected: Some(ProjectedVolumeSource {
            default_mode: Some(0o444),
            sources: Some(vec![
                VolumeProjection {
                    service_account_token: Some(ServiceAccountTokenProjection {
                        path: "token".into(),
                        expiration_seconds: Some(600),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                VolumeProjection {
                    config_map: Some(ConfigMapProjection {
                        name: "kube-root-ca.crt".into(),
                        items: Some(vec![KeyToPath { key: "ca.crt".into(), path: "ca.crt".into(), mode: None }]),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            ]),
        }),
        ..Default::default()
    }
}

/// Raises the node's vm.max_map_count (never lowers it); not a namespaced sysctl.
fn sysctl_container(p: &SdcCassandraParams) -> Container {
    let script = format!(
        "if [ \"$(cat /proc/sys/vm/max_map_count)\" -lt {MAX_MAP_COUNT} ]; then \
         echo {MAX_MAP_COUNT} > /proc/sys/vm/max_map_count; fi"
    );
    Container {
        name: SYSCTL_CONTAINER.into(),
        image: Some(p.image.clone()),
        command: Some(vec!["/bin/sh".into(), "-c".into(), script]),
        resources: Some(small_resources().to_k8s()),
        security_context: Some(SecurityContext {
            privileged: Some(true),
            run_as_user: Some(0),
            run_as_non_root: Some(false),
            read_only_root_filesystem: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn pod_annotations(p: &SdcCassandraParams) -> BTreeMap<String, String> {
    let mut a =
        BTreeMap::from([("kubectl.kubernetes.io/default-container".to_string(), CASSANDRA_CONTAINER.to_string())]);
    if p.sysctl_init_container {
        a.insert(
            SECURITY_EXCEPTION_ANNOTATION.into(),
            format!(
                "init container `{SYSCTL_CONTAINER}` runs privileged as root to raise the node's vm.max_map_count \
                 to {MAX_MAP_COUNT} (not a namespaced sysctl), which Cassandra needs to memory-map the indexes \
                 of many SSTables (`sysctl_init_container: true`)"
            ),
        );
    }
    a
}

fn stateful_set(p: &SdcCassandraParams, cx: &Context, snitch: Snitch) -> Result<StatefulSet, Error> {
    let selector = sdc::selector(ROLE);
    let mut init_containers = Vec::new();
    if p.sysctl_init_container {
        init_containers.push(sysctl_container(p));
    }
    init_containers.push(copy_config_container(p, snitch));
    let mut volumes = vec![empty_dir("config"), empty_dir("logs"), empty_dir("tmp")];
    if snitch == Snitch::GossipingPropertyFileSnitch {
        init_containers.push(rackdc_container(p, cx));
        volumes.push(token_volume());
    }
    let replicas = i32::try_from(p.replicas).map_err(|_| Error::invalid("replicas is too large"))?;

    let pod = PodSpec {
        service_account_name: Some(NAME.into()),
        automount_service_account_token: Some(false),
        security_context: Some(pod_security(CASSANDRA_UID, CASSANDRA_UID, CASSANDRA_UID)),
        termination_grace_period_seconds: Some(TERMINATION_GRACE_SECONDS),
        image_pull_secrets: sdc::pull_secrets(&p.image_pull_secrets),
        affinity: Some(spread_over_nodes(&selector, 100)),
        topology_spread_constraints: Some(vec![spread_over_zones(&selector, &cx.platform.zone_label)]),
        init_containers: Some(init_containers),
        containers: vec![cassandra_container(p, snitch)],
        volumes: Some(volumes),
        ..Default::default()
    };

    Ok(DatastoreSet {
        name: NAME,
        namespace: sdc::NAMESPACE,
        role: ROLE,
        replicas,
        // The original's default, and Cassandra's rule: one node joins at a time.
        pod_management_policy: "OrderedReady",
        retain_claims: true,
        annotations: pod_annotations(p),
        pod,
        claims: Some(vec![sdc::data_claim_template(p.storage_class_name(), &p.storage_for(cx))]),
    }
    .build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing;
    use crate::common::testing::{find, path_of};
    use crate::context::Cloud;
    use crate::quantity::Quantity;
    use crate::Stack;
    use serde_json::{json, Value};

    fn cx(cloud: Cloud) -> Context {
        let mut cx = Context::default();
        cx.platform.cloud = cloud;
        cx
    }

    fn build_in(p: &SdcCassandraParams, cx: &Context) -> Vec<Object> {
        SdcCassandra::build(p, cx).expect("parameters build")
    }

    fn build(p: &SdcCassandraParams) -> Vec<Object> {
        build_in(p, &Context::default())
    }

    fn with(f: impl FnOnce(&mut SdcCassandraParams)) -> SdcCassandraParams {
        testing::with(f)
    }

    fn error_of(p: &SdcCassandraParams) -> Error {
        SdcCassandra::build(p, &Context::default()).expect_err("parameters are rejected")
    }

    fn pod(objects: &[Object]) -> &Value {
        &find(objects, "sts").value["spec"]["template"]["spec"]
    }

    fn container<'a>(objects: &'a [Object], name: &str) -> &'a Value {
        let spec = pod(objects);
        let all = spec["containers"].as_array().into_iter().flatten();
        let inits = spec["initContainers"].as_array().into_iter().flatten();
        all.chain(inits).find(|c| c["name"] == name).unwrap_or_else(|| panic!("no container `{name}`"))
    }

    fn env_of<'a>(c: &'a Value, name: &str) -> Option<&'a Value> {
        c["env"].as_array().into_iter().flatten().find(|e| e["name"] == name).map(|e| &e["value"])
    }

    fn container_names(objects: &[Object], list: &str) -> Vec<String> {
        pod(objects)[list]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str().map(String::from))
            .collect()
    }

    #[test]
    fn default_build_has_the_original_names_and_keys() {
        let objects = build(&SdcCassandraParams::default());
        let got: Vec<(&str, &str, &str)> = objects.iter().map(|o| (o.key.as_str(), o.kind(), o.name())).collect();
        assert_eq!(
            got,
            [
                ("serviceAccount", "ServiceAccount", "sdc-cassandra"),
                ("clusterRole", "ClusterRole", "sysdigcloud-cassandra-node-reader"),
                ("clusterRoleBinding", "ClusterRoleBinding", "sysdigcloud-cassandra-node-reader"),
                ("svc", "Service", "sdc-cassandra"),
                ("sts", "StatefulSet", "sdc-cassandra"),
                ("disruptionBudget", "PodDisruptionBudget", "sdc-cassandra"),
            ]
        );
        for o in &objects {
            let cluster_scoped = o.kind().starts_with("Cluster");
            assert_eq!(o.namespace(), if cluster_scoped { "" } else { "sysdigcloud" }, "{}", o.key);
            assert_eq!(o.component, "sdc_cassandra");
            assert!(
                ["v1", "apps/v1", "policy/v1", "rbac.authorization.k8s.io/v1"].contains(&o.api_version()),
                "{} uses {}",
                o.key,
                o.api_version()
            );
            assert_eq!(o.value["metadata"]["labels"]["app"], "sysdigcloud", "{}", o.key);
            assert_eq!(o.value["metadata"]["labels"]["role"], "cassandra", "{}", o.key);
        }
        let sts = &find(&objects, "sts").value["spec"];
        assert_eq!(sts["replicas"], 3);
        assert_eq!(sts["serviceName"], "sdc-cassandra");
        assert_eq!(sts["podManagementPolicy"], "OrderedReady");
        assert_eq!(sts["selector"]["matchLabels"], json!({"app": "sysdigcloud", "role": "cassandra"}));
        let claim = &sts["volumeClaimTemplates"][0];
        assert_eq!(claim["metadata"], json!({"name": "data"}), "claim template metadata is the original's");
        assert_eq!(claim["spec"]["storageClassName"], sdc::storage::FAST);
        assert_eq!(claim["spec"]["accessModes"], json!(["ReadWriteOnce"]));
        assert_eq!(container_names(&objects, "containers"), ["cassandra"]);
    }

    #[test]
    fn headless_service_has_the_original_ports_and_publishes_unready_pods() {
        let objects = build(&SdcCassandraParams::default());
        let svc = &find(&objects, "svc").value["spec"];
        assert_eq!(svc["clusterIP"], "None");
        assert_eq!(svc["publishNotReadyAddresses"], true);
        let ports: Vec<(&str, i64)> = svc["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| (p["name"].as_str().unwrap_or(""), p["port"].as_i64().unwrap_or(0)))
            .collect();
        assert_eq!(
            ports,
            [("cql", 9042), ("thrift", 9160), ("intra-node", 7000), ("tls-intra-node", 7001), ("jmx", 7199)]
        );
        // Every target port is a named port of the container.
        let c = container(&objects, "cassandra");
        for p in svc["ports"].as_array().into_iter().flatten() {
            let target = &p["targetPort"];
            assert!(c["ports"].as_array().into_iter().flatten().any(|cp| cp["name"] == *target), "{target}");
        }
    }

    #[test]
    fn snitch_follows_the_cloud() {
        for (cloud, snitch) in [
            (Cloud::Aws, "Ec2Snitch"),
            (Cloud::Gcp, "GoogleCloudSnitch"),
            (Cloud::Azure, "GossipingPropertyFileSnitch"),
            (Cloud::None, "GossipingPropertyFileSnitch"),
        ] {
            let objects = build_in(&SdcCassandraParams::default(), &cx(cloud));
            let c = container(&objects, "cassandra");
            assert_eq!(env_of(c, "CASSANDRA_ENDPOINT_SNITCH"), Some(&json!(snitch)), "{cloud:?}");
            let gpfs = snitch == "GossipingPropertyFileSnitch";
            assert_eq!(objects.iter().any(|o| o.kind() == "ClusterRole"), gpfs, "{cloud:?}");
            assert_eq!(container_names(&objects, "initContainers").contains(&"rackdc".to_string()), gpfs, "{cloud:?}");
            // The rack file is never set through the entrypoint's CASSANDRA_DC/RACK.
            assert!(env_of(c, "CASSANDRA_RACK").is_none() && env_of(c, "CASSANDRA_DC").is_none());
        }
        // An explicit snitch wins over the cloud's.
        let p = with(|p| p.snitch = Snitch::GossipingPropertyFileSnitch);
        let objects = build_in(&p, &cx(Cloud::Aws));
        assert_eq!(
            env_of(container(&objects, "cassandra"), "CASSANDRA_ENDPOINT_SNITCH"),
            Some(&json!("GossipingPropertyFileSnitch"))
        );
        assert!(objects.iter().any(|o| o.kind() == "ClusterRoleBinding"));
    }

    #[test]
    fn ec2_snitch_keeps_the_legacy_names_of_the_original_cluster() {
        let copy = |scheme: Ec2NamingScheme| {
            let objects = build_in(&with(|p| p.ec2_naming_scheme = scheme), &cx(Cloud::Aws));
            container(&objects, "copy-config")["command"][2].as_str().unwrap_or("").to_string()
        };
        let legacy = copy(Ec2NamingScheme::Legacy);
        assert!(legacy.starts_with("set -e\ncp -R /etc/cassandra/. /mnt/config/\n"), "{legacy}");
        assert!(
            legacy.contains("echo 'ec2_naming_scheme=legacy' >> /mnt/config/cassandra-rackdc.properties"),
            "{legacy}"
        );
        assert!(copy(Ec2NamingScheme::Standard).contains("ec2_naming_scheme=standard"));
        // Other snitches do not touch the naming scheme.
        let objects = build_in(&SdcCassandraParams::default(), &cx(Cloud::Gcp));
        let gcp = container(&objects, "copy-config")["command"][2].as_str().unwrap_or("").to_string();
        assert!(!gcp.contains("ec2_naming_scheme"), "{gcp}");
    }

    #[test]
    fn rackdc_init_container_alone_gets_a_token_limited_to_get_nodes() {
        let mut context = cx(Cloud::None);
        context.platform.zone_label = "example.com/zone".into();
        let objects = build_in(&with(|p| p.datacenter = "onprem".into()), &context);
        let spec = pod(&objects);
        assert_eq!(spec["automountServiceAccountToken"], false);
        assert_eq!(spec["serviceAccountName"], "sdc-cassandra");
        assert_eq!(find(&objects, "serviceAccount").value["automountServiceAccountToken"], false);
        // The token volume is mounted into `rackdc` only, read-only.
        let token =
            spec["volumes"].as_array().into_iter().flatten().find(|v| v["name"] == TOKEN_VOLUME).expect("token");
        let sources = &token["projected"]["sources"];
        assert_eq!(sources[0]["serviceAccountToken"]["path"], "token");
        assert_eq!(sources[1]["configMap"]["name"], "kube-root-ca.crt");
        for name in ["cassandra", "copy-config", "rackdc"] {
            let c = container(&objects, name);
            let mounts: Vec<&Value> = c["volumeMounts"].as_array().into_iter().flatten().collect();
            let has_token = mounts.iter().any(|m| m["name"] == TOKEN_VOLUME);
            assert_eq!(has_token, name == "rackdc", "{name}");
        }
        let rackdc = container(&objects, "rackdc");
        assert_eq!(rackdc["command"][0], "python3");
        assert_eq!(rackdc["command"][2], RACKDC_SCRIPT);
        assert_eq!(env_of(rackdc, "ZONE_LABEL"), Some(&json!("example.com/zone")));
        assert_eq!(env_of(rackdc, "DATACENTER"), Some(&json!("onprem")));
        assert_eq!(env_of(rackdc, "DEFAULT_RACK"), Some(&json!("rack1")));
        assert_eq!(env_of(rackdc, "OUT_FILE"), Some(&json!("/mnt/config/cassandra-rackdc.properties")));
        let node =
            rackdc["env"].as_array().into_iter().flatten().find(|e| e["name"] == "NODE_NAME").expect("NODE_NAME");
        assert_eq!(node["valueFrom"]["fieldRef"]["fieldPath"], "spec.nodeName");
        // The saved pair lives on the data volume, which `rackdc` mounts.
        assert!(SAVED_RACKDC.starts_with(DATA_DIR));
        assert!(rackdc["volumeMounts"].as_array().into_iter().flatten().any(|m| m["name"] == "data"));
        // After copy-config, which would overwrite the file.
        assert_eq!(container_names(&objects, "initContainers"), ["copy-config", "rackdc"]);

        let role = &find(&objects, "clusterRole").value;
        assert_eq!(role["rules"], json!([{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]));
        let binding = &find(&objects, "clusterRoleBinding").value;
        assert_eq!(binding["roleRef"]["name"], NODE_READER);
        assert_eq!(
            binding["subjects"],
            json!([{"kind": "ServiceAccount", "name": "sdc-cassandra", "namespace": "sysdigcloud"}])
        );
    }

    #[test]
    fn rackdc_script_reads_its_inputs_from_the_environment() {
        for var in ["NODE_NAME", "ZONE_LABEL", "DATACENTER", "DEFAULT_RACK", "SAVED_FILE", "OUT_FILE"] {
            assert!(RACKDC_SCRIPT.contains(&format!("os.environ[\"{var}\"]")), "{var}");
        }
        assert!(RACKDC_SCRIPT.contains(SA_DIR));
        assert!(!RACKDC_SCRIPT.contains("{{"), "not a template");
    }

    #[test]
    fn seeds_are_the_first_pods_through_the_headless_service() {
        let objects = build(&SdcCassandraParams::default());
        let c = container(&objects, "cassandra");
        assert_eq!(
            env_of(c, "CASSANDRA_SEEDS"),
            Some(&json!("sdc-cassandra-0.sdc-cassandra.sysdigcloud.svc,sdc-cassandra-1.sdc-cassandra.sysdigcloud.svc"))
        );
        assert_eq!(env_of(c, "CASSANDRA_LISTEN_ADDRESS"), Some(&json!("$(POD_IP)")));
        assert_eq!(env_of(c, "CASSANDRA_CLUSTER_NAME"), Some(&json!("sysdigcloud")));
        assert_eq!(env_of(c, "CASSANDRA_NUM_TOKENS"), Some(&json!("256")));
        let objects = build(&with(|p| {
            p.replicas = 5;
            p.seeds = 3;
        }));
        let seeds = env_of(container(&objects, "cassandra"), "CASSANDRA_SEEDS").and_then(Value::as_str).unwrap_or("");
        assert_eq!(seeds.split(',').count(), 3);
        assert!(seeds.ends_with("sdc-cassandra-2.sdc-cassandra.sysdigcloud.svc"), "{seeds}");
    }

    #[test]
    fn bad_seeds_are_errors() {
        for seeds in [0, 4] {
            let e = error_of(&with(|p| p.seeds = seeds));
            assert_eq!(path_of(&e), "sdc_cassandra.seeds", "{seeds}");
        }
        // A single node is its own seed.
        build(&with(|p| {
            p.replicas = 1;
            p.seeds = 1;
        }));
    }

    #[test]
    fn readiness_checks_up_normal_for_the_pods_own_ip_and_stop_drains() {
        let objects = build(&SdcCassandraParams::default());
        let c = container(&objects, "cassandra");
        let cmd = &c["readinessProbe"]["exec"]["command"];
        assert_eq!(cmd[0], "/bin/bash");
        let script = cmd[2].as_str().unwrap_or("");
        assert!(script.starts_with("nodetool status"), "{script}");
        assert!(script.contains("$2 == ip") && script.contains("\"$POD_IP\"") && script.ends_with("grep -qx UN"));
        let ip = c["env"].as_array().into_iter().flatten().find(|e| e["name"] == "POD_IP").expect("POD_IP");
        assert_eq!(ip["valueFrom"]["fieldRef"]["fieldPath"], "status.podIP");
        assert_eq!(c["lifecycle"]["preStop"]["exec"]["command"], json!(["/bin/sh", "-c", "nodetool drain"]));
        assert_eq!(c["startupProbe"]["tcpSocket"]["port"], "intra-node");
        assert_eq!(c["livenessProbe"]["tcpSocket"]["port"], "intra-node");
        assert_eq!(pod(&objects)["terminationGracePeriodSeconds"], 300);
    }

    #[test]
    fn storage_follows_the_cloud_as_the_original() {
        let size = |p: &SdcCassandraParams, cloud: Cloud| {
            let objects = build_in(p, &cx(cloud));
            let claim = &find(&objects, "sts").value["spec"]["volumeClaimTemplates"][0]["spec"];
            (claim["resources"]["requests"]["storage"].clone(), claim["storageClassName"].clone())
        };
        let default = SdcCassandraParams::default();
        assert_eq!(size(&default, Cloud::Aws), (json!("400Gi"), json!("sysdigcloud-fast")));
        assert_eq!(size(&default, Cloud::Gcp), (json!("100Gi"), json!("sysdigcloud-fast")));
        assert_eq!(size(&default, Cloud::None).0, json!("100Gi"));
        let adopted = with(|p| {
            p.storage = Some(Quantity::from("400Gi"));
            p.storage_class = Some("aws-blazing-mutli-az".into());
        });
        assert_eq!(size(&adopted, Cloud::Gcp), (json!("400Gi"), json!("aws-blazing-mutli-az")));
        let e = error_of(&with(|p| p.storage_class = Some("Not A Class".into())));
        assert_eq!(path_of(&e), "sdc_cassandra.storage_class");
        let e = error_of(&with(|p| p.storage = Some(Quantity::from("0"))));
        assert_eq!(path_of(&e), "sdc_cassandra.storage");
    }

    #[test]
    fn heap_sets_max_heap_and_new_size() {
        let objects = build(&SdcCassandraParams::default());
        let c = container(&objects, "cassandra");
        assert_eq!(env_of(c, "MAX_HEAP_SIZE"), Some(&json!("8192M")));
        // 100Mi per requested core (2).
        assert_eq!(env_of(c, "HEAP_NEWSIZE"), Some(&json!("200M")));
        assert!(env_of(c, "JVM_EXTRA_OPTS").is_none());
        assert_eq!(c["resources"]["limits"]["memory"], "16Gi");
        assert_eq!(c["resources"]["requests"]["cpu"], "2");

        let objects = build(&with(|p| {
            p.heap = Quantity::from("4Gi");
            p.heap_newsize = Some(Quantity::from("800Mi"));
            p.jvm_extra_opts = "-Dcassandra.ignore_dc=false".into();
        }));
        let c = container(&objects, "cassandra");
        assert_eq!(env_of(c, "MAX_HEAP_SIZE"), Some(&json!("4096M")));
        assert_eq!(env_of(c, "HEAP_NEWSIZE"), Some(&json!("800M")));
        assert_eq!(env_of(c, "JVM_EXTRA_OPTS"), Some(&json!("-Dcassandra.ignore_dc=false")));
        // Derived new size is capped at a quarter of the heap.
        let p = with(|p| {
            p.heap = Quantity::from("1Gi");
            p.resources = Resources::new("16", "4Gi", None, "4Gi");
        });
        assert_eq!(p.heap_newsize_mib(), 256);
    }

    #[test]
    fn heap_errors_name_the_parameter() {
        let e = error_of(&with(|p| p.heap = Quantity::from("9Gi")));
        assert_eq!(path_of(&e), "sdc_cassandra.heap");
        assert!(e.to_string().contains("half of the memory limit"), "{e}");
        assert!(e.helps().iter().any(|h| h.contains("18432Mi") && h.contains("8192Mi")), "{:?}", e.helps());
        assert_eq!(path_of(&error_of(&with(|p| p.heap = Quantity::from("512Mi")))), "sdc_cassandra.heap");
        assert_eq!(path_of(&error_of(&with(|p| p.heap = Quantity::from("8G")))), "sdc_cassandra.heap");
        let e = error_of(&with(|p| p.heap_newsize = Some(Quantity::from("5Gi"))));
        assert_eq!(path_of(&e), "sdc_cassandra.heap_newsize");
        let e = error_of(&with(|p| p.resources = Resources::new("2", "32Gi", None, "16Gi")));
        assert_eq!(path_of(&e), "sdc_cassandra.resources");
    }

    #[test]
    fn names_and_images_are_validated() {
        for (key, f) in [
            (
                "cluster_name",
                Box::new(|p: &mut SdcCassandraParams| p.cluster_name = "my/cluster".into()) as Box<dyn Fn(&mut _)>,
            ),
            ("datacenter", Box::new(|p: &mut SdcCassandraParams| p.datacenter = "dc 1".into())),
            ("default_rack", Box::new(|p: &mut SdcCassandraParams| p.default_rack = String::new())),
            ("num_tokens", Box::new(|p: &mut SdcCassandraParams| p.num_tokens = 0)),
            ("replicas", Box::new(|p: &mut SdcCassandraParams| p.replicas = 0)),
            ("jvm_extra_opts", Box::new(|p: &mut SdcCassandraParams| p.jvm_extra_opts = "-Xa\n-Xb".into())),
            ("image", Box::new(|p: &mut SdcCassandraParams| p.image = "cassandra 5".into())),
        ] {
            let mut p = SdcCassandraParams::default();
            f(&mut p);
            assert_eq!(path_of(&error_of(&p)), format!("sdc_cassandra.{key}"));
        }
        let e = error_of(&with(|p| p.image_pull_secrets = vec!["ok".into(), "Not_OK".into()]));
        assert_eq!(path_of(&e), "sdc_cassandra.image_pull_secrets[1]");
    }

    #[test]
    fn every_container_has_requests_and_limits_and_runs_locked_down() {
        for cloud in [Cloud::Aws, Cloud::None] {
            let objects = build_in(&SdcCassandraParams::default(), &cx(cloud));
            let spec = pod(&objects);
            assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
            assert_eq!(spec["securityContext"]["runAsUser"], 999);
            assert_eq!(spec["securityContext"]["runAsGroup"], 999);
            assert_eq!(spec["securityContext"]["fsGroup"], 999);
            assert_eq!(spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
            let all = spec["containers"].as_array().into_iter().flatten();
            for c in all.chain(spec["initContainers"].as_array().into_iter().flatten()) {
                let name = &c["name"];
                assert!(c["resources"]["requests"]["memory"].is_string(), "{name}");
                assert!(c["resources"]["limits"]["memory"].is_string(), "{name}");
                assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true, "{name}");
                assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false, "{name}");
                assert_eq!(c["securityContext"]["capabilities"]["drop"], json!(["ALL"]), "{name}");
                assert!(c["securityContext"]["capabilities"].get("add").is_none(), "{name}: no IPC_LOCK");
            }
            let tpl = &find(&objects, "sts").value;
            assert_eq!(crate::namespaces::pod_security_level(tpl), "restricted", "{cloud:?}");
        }
    }

    #[test]
    fn sysctl_init_container_is_privileged_and_says_why() {
        let objects = build(&SdcCassandraParams::default());
        let tpl = &find(&objects, "sts").value["spec"]["template"];
        assert!(tpl["metadata"]["annotations"].get(SECURITY_EXCEPTION_ANNOTATION).is_none());

        let objects = build(&with(|p| p.sysctl_init_container = true));
        let tpl = &find(&objects, "sts").value["spec"]["template"];
        let why = tpl["metadata"]["annotations"][SECURITY_EXCEPTION_ANNOTATION].as_str().unwrap_or("");
        assert!(why.contains("vm.max_map_count"), "{why}");
        let init = &tpl["spec"]["initContainers"][0];
        assert_eq!(init["name"], "sysctl");
        assert_eq!(init["securityContext"]["privileged"], true);
        assert!(init["command"][2].as_str().unwrap_or("").contains("1048575"));
        assert_eq!(crate::namespaces::pod_security_level(&find(&objects, "sts").value), "privileged");
    }

    #[test]
    fn selectors_match_the_pod_template_and_spread_across_zones_and_hosts() {
        let mut context = cx(Cloud::Gcp);
        context.platform.zone_label = "topology.gke.io/zone".into();
        let objects = build_in(&SdcCassandraParams::default(), &context);
        let sts = &find(&objects, "sts").value;
        let pod_labels = sts["spec"]["template"]["metadata"]["labels"].as_object().expect("pod labels");
        let matches = |selector: &Value| {
            let sel = selector.as_object().expect("a selector");
            !sel.is_empty() && sel.iter().all(|(k, v)| pod_labels.get(k) == Some(v))
        };
        assert!(matches(&find(&objects, "svc").value["spec"]["selector"]));
        assert!(matches(&sts["spec"]["selector"]["matchLabels"]));
        let pdb = &find(&objects, "disruptionBudget").value["spec"];
        assert!(matches(&pdb["selector"]["matchLabels"]));
        assert_eq!(pdb["maxUnavailable"], 1);
        // A selector matches its own role only.
        assert_eq!(find(&objects, "svc").value["spec"]["selector"], json!({"app": "sysdigcloud", "role": "cassandra"}));
        let spec = &sts["spec"]["template"]["spec"];
        let term = &spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
            ["podAffinityTerm"];
        assert!(matches(&term["labelSelector"]["matchLabels"]));
        assert_eq!(term["topologyKey"], "kubernetes.io/hostname");
        let spread = &spec["topologySpreadConstraints"][0];
        assert!(matches(&spread["labelSelector"]["matchLabels"]));
        assert_eq!(spread["topologyKey"], "topology.gke.io/zone");
        assert_eq!(spread["maxSkew"], 1);
    }

    #[test]
    fn no_config_map_or_secret_is_rendered() {
        for cloud in [Cloud::Aws, Cloud::Gcp, Cloud::None] {
            let objects = build_in(&SdcCassandraParams::default(), &cx(cloud));
            assert!(objects.iter().all(|o| o.kind() != "ConfigMap" && o.kind() != "Secret"), "{cloud:?}");
        }
    }

    #[test]
    fn pull_secrets_are_referenced_and_declared_external() {
        let p = with(|p| p.image_pull_secrets = vec!["mirror-login".into()]);
        let objects = build(&p);
        assert_eq!(pod(&objects)["imagePullSecrets"], json!([{"name": "mirror-login"}]));
        assert_eq!(
            SdcCassandra::externals(&p, &Context::default()),
            [("Secret".to_string(), "sysdigcloud".to_string(), "mirror-login".to_string())]
        );
        assert!(pod(&build(&SdcCassandraParams::default())).get("imagePullSecrets").is_none());
    }

    #[test]
    fn every_object_round_trips() {
        for cloud in [Cloud::Aws, Cloud::Gcp, Cloud::None] {
            for sysctl in [false, true] {
                let p = with(|p| {
                    p.sysctl_init_container = sysctl;
                    p.image_pull_secrets = vec!["pull".into()];
                    p.jvm_extra_opts = "-XX:+UseG1GC".into();
                });
                for mut o in build_in(&p, &cx(cloud)) {
                    let before = o.value.clone();
                    o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
                    assert_eq!(before, o.value, "{} changed in the round trip", o.key);
                }
            }
        }
    }

    #[test]
    fn defaults_serialize_and_read_back() {
        let json = serde_json::to_value(SdcCassandraParams::default()).expect("serializes");
        assert_eq!(json["snitch"], "auto");
        assert_eq!(json["ec2_naming_scheme"], "legacy");
        assert_eq!(json["storage"], Value::Null);
        let back: SdcCassandraParams = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, SdcCassandraParams::default());
        let partial: SdcCassandraParams =
            serde_json::from_value(json!({"snitch": "GossipingPropertyFileSnitch", "replicas": 5})).expect("partial");
        assert_eq!(partial.snitch, Snitch::GossipingPropertyFileSnitch);
        assert_eq!(partial.replicas, 5);
        assert!(serde_json::from_value::<SdcCassandraParams>(json!({"snitch": "SimpleSnitch"})).is_err());
        assert!(serde_json::from_value::<SdcCassandraParams>(json!({"replica": 5})).is_err());
    }

    fn stack(platform: &str) -> Stack {
        let mut s = Stack::new();
        s.platform(platform, "test").expect("platform");
        s.set("config.dns_zone=example.com", false).expect("set");
        s.set("platform.components.sdc_cassandra=true", false).expect("enable");
        // The claims use the storage classes sdc_storage renders.
        s.set("platform.components.sdc_storage=true", false).expect("enable");
        s
    }

    #[test]
    fn full_render_passes_reference_checks_on_every_platform() {
        for (platform, snitch, size) in [
            ("eks", "Ec2Snitch", "400Gi"),
            ("gke", "GoogleCloudSnitch", "100Gi"),
            ("onprem", "GossipingPropertyFileSnitch", "100Gi"),
        ] {
            let r = stack(platform)
                .render(&[&SdcCassandra, &crate::sdc_storage::SdcStorage])
                .unwrap_or_else(|e| panic!("{platform}: {}", e.render()));
            let sts = r.objects.iter().find(|o| o.kind() == "StatefulSet").expect("sts");
            assert_eq!(sts.namespace(), "sysdigcloud");
            let c = &sts.value["spec"]["template"]["spec"]["containers"][0];
            assert_eq!(env_of(c, "CASSANDRA_ENDPOINT_SNITCH"), Some(&json!(snitch)), "{platform}");
            assert_eq!(sts.value["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"], size);
            // The namespace is rendered and labelled for the pods it holds.
            let ns = r.objects.iter().find(|o| o.kind() == "Namespace" && o.name() == "sysdigcloud").expect("ns");
            assert_eq!(ns.value["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted");
        }
    }

    #[test]
    fn stack_parameters_reach_the_build() {
        let mut s = stack("eks");
        s.set("sdc_cassandra.snitch=GossipingPropertyFileSnitch", false).expect("set");
        s.set("sdc_cassandra.replicas=4", false).expect("set");
        let r =
            s.render(&[&SdcCassandra, &crate::sdc_storage::SdcStorage]).unwrap_or_else(|e| panic!("{}", e.render()));
        let sts = r.objects.iter().find(|o| o.kind() == "StatefulSet").expect("sts");
        assert_eq!(sts.value["spec"]["replicas"], 4);
        assert!(r.objects.iter().any(|o| o.kind() == "ClusterRole" && o.name() == NODE_READER));

        let mut s = stack("gke");
        s.set("sdc_cassandra.seeds=7", false).expect("set");
        let e = s.render(&[&SdcCassandra, &crate::sdc_storage::SdcStorage]).expect_err("too many seeds");
        assert_eq!(e.error().path().map(ToString::to_string).as_deref(), Some("sdc_cassandra.seeds"));
    }
}
