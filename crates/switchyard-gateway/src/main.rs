//! The `switchyard` binary.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    switchyard_gateway::cli::main()
}
