"""The training machinery: the skorch net, batching, and every device decision."""
