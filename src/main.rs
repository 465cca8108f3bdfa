//! The `pengyou` binary's entry point; everything else lives in the library.

fn main() -> std::process::ExitCode {
    pengyou::cli::run()
}
