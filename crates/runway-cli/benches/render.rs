//! Benchmarks of a full render in process: building the stack from the embedded platform
//! and an override file, rendering every component, and writing YAML; plus the YAML
//! writer alone, which is the hot spot.
//!
//!     cargo bench -p runway-cli --bench render

use criterion::{criterion_group, criterion_main, Criterion};
use runway_components::{Stack, ALL};
use runway_core::SourceKind;

const OVERRIDE: &str = include_str!("../../../overrides/elasticsearch-replicas.yaml");

fn stack(platform: &str) -> Stack {
    let mut s = Stack::new();
    s.platform(platform, "bench").expect("embedded platform");
    s.layer("overrides/elasticsearch-replicas.yaml", SourceKind::File, OVERRIDE).expect("override parses");
    s.set("config.dns_zone=example.com", false).expect("set parses");
    s
}

fn bench(c: &mut Criterion) {
    c.bench_function("render_gke_full_to_yaml", |b| {
        b.iter(|| {
            let out = stack("gke").render(ALL).expect("renders");
            std::hint::black_box(out.to_yaml())
        })
    });
    let rendered = stack("gke").render(ALL).expect("renders");
    c.bench_function("emit_yaml_gke", |b| b.iter(|| std::hint::black_box(rendered.to_yaml())));
}

criterion_group!(benches, bench);
criterion_main!(benches);
