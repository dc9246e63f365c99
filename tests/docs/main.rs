//! The documentation is part of the product: these tests keep README.md,
//! ARCHITECTURE.md and the book in `docs/` true to the code.

mod commands;
mod examples;
mod file_format;
mod guarantees;
mod links;
mod readme;
mod references;
