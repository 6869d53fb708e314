//! Generates the `wefe.gateway.v1` messages and service from `proto/`.
//!
//! The machine has no `protoc`; `protoc-bin-vendored` ships one, so the build
//! needs nothing outside crates.io.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // Hand the path to prost-build directly: `std::env::set_var("PROTOC", …)` is
    // `unsafe` in edition 2024 and the workspace forbids unsafe code.
    tonic_prost_build::configure()
        // Payloads stay `bytes::Bytes`: chunks of a large message are slices of one buffer.
        .bytes(".wefe.gateway.v1.Envelope.payload")
        .compile_with_config(
            {
                let mut config = tonic_prost_build::Config::new();
                config.protoc_executable(protoc);
                config
            },
            &["proto/wefe/gateway/v1/gateway.proto"],
            &["proto"],
        )?;
    Ok(())
}
