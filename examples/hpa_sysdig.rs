//! An autoscaler on a Sysdig metric, built in Rust: the example of the Sysdig custom
//! metrics adapter (scale the Deployment `kuard` between 3 and 10 replicas on
//! `net.http.request.count` of its Service, target 100). The same autoscaler as
//! `overrides/hpa-sysdig-request-count.yaml`; `sysdig_metrics_adapter` serves the metric.
//!
//!     cargo run -p runway-examples --example hpa_sysdig

use runway_components::hpas::{DescribedObject, HpaBuilder, MetricValue, ScaleTarget};
use runway_components::{Context, Quantity};

fn main() {
    let hpa = HpaBuilder::new("kuard", ScaleTarget::deployment("kuard"))
        .namespace("default")
        .min(3)
        .max(10)
        .object_metric(
            "net.http.request.count",
            DescribedObject::service("kuard"),
            MetricValue::Value(Quantity::from("100")),
        )
        // kuard is the application's, not runway's.
        .external();
    match hpa.build(&Context::default()) {
        Ok(object) => {
            let object = runway_core::Object::new("hpas", "kuard", &object);
            print!("{}", runway_core::emit::to_yaml_stream(std::iter::once(&*object.value)));
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
