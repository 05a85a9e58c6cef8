"""Neural-network kernels (NNlib's role): the dense layer's product, convolutions and pooling, with rules."""
