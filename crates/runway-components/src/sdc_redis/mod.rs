//! Being written: see the issue for what this component renders.
