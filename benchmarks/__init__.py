"""fluxpy benchmarks: ``python -m benchmarks`` times gradients next to hand-written NumPy and peers.

The modules, in the order the data flows:

- ``workloads``: every workload's inputs, shared by all columns;
- ``handwritten`` (and ``conv_by_hand`` for the CNN): the hand-derived NumPy gradients, the reference;
- ``fluxpy_impl``: the same workloads as a fluxpy user writes them;
- ``peer_autograd``, ``peer_torch``, ``peer_jax``: the peers, each optional;
- ``cases``: the main table's rows and the agreement check run before timing;
- ``second_order``, ``first_call`` (on ``portfolio``), ``memory``: the other targets;
- ``timing``, ``report``, ``run``: measuring, formatting, the entry point.

``cnn.py`` and ``implicit_overhead.py`` run on their own as well.
"""
