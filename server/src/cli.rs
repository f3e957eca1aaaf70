//! Command-line subcommands other than `serve`: thin layers that parse files, call the engine and
//! print. Each writes to the `Write` it is given, so tests capture the output.

pub mod loss;
pub mod model;
pub mod unlearn;
