//! runway-components: the components of the runtime, the platforms they are built for,
//! and the render pipeline that layers overrides onto them.
//!
//! ```ignore
//! let mut stack = runway_components::Stack::new();
//! stack.platform("gke")?;
//! stack.set("elasticsearch.replicas=5")?;
//! let yaml = stack.render(runway_components::ALL)?.to_yaml();
//! ```
#![deny(missing_docs)]

pub mod cert_manager;
pub mod common;
pub mod component;
pub mod context;
pub mod elasticsearch;
pub mod explain;
pub mod external_dns;
pub mod files;
pub mod fleet;
pub mod fluentd_es;
pub mod grafana;
pub mod hpas;
pub mod images;
pub mod keycloak;
pub mod kibana;
pub mod kured;
pub mod longhorn;
pub mod metallb;
pub mod namespaces;
pub mod network;
pub mod nginx_ingress;
pub mod node_problem_detector;
pub mod oauth2_proxy;
pub mod output;
pub mod platforms;
pub mod powerdns;
pub mod prometheus;
pub mod quantity;
pub mod release;
pub mod render;
pub mod sdc;
pub mod sdc_agent;
pub mod sdc_backend;
pub mod sdc_cassandra;
pub mod sdc_config;
pub mod sdc_elasticsearch;
pub mod sdc_mysql;
pub mod sdc_redis;
pub mod sdc_storage;
pub mod stack;
pub mod sysdig_metrics_adapter;
pub mod traefik;
pub mod waivers;

pub use component::{Component, ErasedComponent, ObjectDoc};
pub use context::{Cloud, ClusterConfig, Context, IngressController, Platform};
pub use explain::Explanation;
pub use fleet::{Fleet, FleetError, FleetOptions, FleetSummary};
pub use output::GitOpsOptions;
pub use quantity::Quantity;
pub use render::{RenderError, RenderOptions, Rendered};
pub use stack::{Layer, ParsedFile, Stack, StackFile};

/// Every component runway ships, in the order `runway components` lists them.
pub const ALL: &[&dyn ErasedComponent] = &[
    &elasticsearch::Elasticsearch,
    &fluentd_es::FluentdEs,
    &kibana::Kibana,
    &prometheus::Prometheus,
    &grafana::Grafana,
    &nginx_ingress::NginxIngress,
    &traefik::Traefik,
    &cert_manager::CertManager,
    &oauth2_proxy::Oauth2Proxy,
    &external_dns::ExternalDns,
    &keycloak::Keycloak,
    &powerdns::Powerdns,
    &kured::Kured,
    &node_problem_detector::NodeProblemDetector,
    &sdc_cassandra::SdcCassandra,
    &sdc_elasticsearch::SdcElasticsearch,
    &sdc_mysql::SdcMysql,
    &sdc_redis::SdcRedis,
    &sdc_storage::SdcStorage,
    &sdc_config::SdcConfig,
    &sdc_backend::SdcBackend,
    &sdc_agent::SdcAgent,
    &sysdig_metrics_adapter::SysdigMetricsAdapter,
    &hpas::Hpas,
    &longhorn::Longhorn,
    &metallb::Metallb,
];
