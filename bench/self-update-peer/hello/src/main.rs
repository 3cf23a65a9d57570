//! A bare Rust binary that prints one line, like `pane --version`: the
//! baseline for start-up time and binary size.

fn main() {
    println!("hello 0.0.0");
}
