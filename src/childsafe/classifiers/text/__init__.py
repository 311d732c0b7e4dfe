"""Text risk: normalisation, pattern signals, MiniLM embeddings and learned heads."""
