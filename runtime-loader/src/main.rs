//! `policy-loader`: the node-side command.
fn main() {
    eprintln!("policy-loader: not implemented yet");
    std::process::exit(2);
}
