//! Benchmarks of a full render in process: the GKE example stack (the whole BKPR runtime,
//! 124 objects, ~1.1 MB of YAML with cert-manager's CRDs) read from its files, rendered
//! and written as YAML; the same for the Sysdig backend on EKS; and the YAML writer
//! alone, the hot spot.
//!
//!     cargo bench -p runway-cli --bench render

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use runway_components::{files, Stack, ALL};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn stack(platform: Option<&str>, file: &str) -> Stack {
    let mut s = Stack::new();
    if let Some(p) = platform {
        s.platform(p, "bench").expect("embedded platform");
    }
    files::load_stack_file(&mut s, &root().join(file)).expect("example stack loads");
    s
}

fn bench(c: &mut Criterion) {
    c.bench_function("render_gke_runtime_to_yaml", |b| {
        b.iter(|| {
            let out = stack(None, "examples/gke/stack.yaml").render(ALL).expect("renders");
            std::hint::black_box(out.to_yaml())
        })
    });
    c.bench_function("render_eks_sysdig_backend_to_yaml", |b| {
        b.iter(|| {
            let out = stack(Some("eks"), "examples/sdc/stack.yaml").render(ALL).expect("renders");
            std::hint::black_box(out.to_yaml())
        })
    });
    let rendered = stack(None, "examples/gke/stack.yaml").render(ALL).expect("renders");
    c.bench_function("emit_yaml_gke_runtime", |b| b.iter(|| std::hint::black_box(rendered.to_yaml())));
}

criterion_group!(benches, bench);
criterion_main!(benches);
