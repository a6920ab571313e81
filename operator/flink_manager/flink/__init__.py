"""Everything that talks to Flink: the REST client (`client`), its typed errors (`errors`, read from Flink's
answers in `classify`) and results (`models`)."""
