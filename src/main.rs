fn main() {
    println!("steward");
}
