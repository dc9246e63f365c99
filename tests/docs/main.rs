//! The documentation is part of the product: these tests keep README.md,
//! ARCHITECTURE.md and the book in `docs/` true to the code.

mod references;
