//! Fitness: properties of the whole codebase and system (the layers, the docs, the schema) and the soak.

mod architecture;
mod docs;
mod schema;
mod soak;
