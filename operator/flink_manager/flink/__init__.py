"""Everything that talks to Flink: the REST client (`client`), its typed errors (`errors`) and results
(`models`), and a simulated Flink session cluster (`simulator`)."""
