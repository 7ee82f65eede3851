"""Problems and datasets: each module builds objectives or per-objective data, installing offline."""
