"""The benchmarks, run by `python -m cifar_demo bench` and by nothing in the product: training speed against the
tutorial's pipeline (speed.py), a class on the real app (classroom.py) and fine-tuning on a class's photos
(your_classes.py). This package imports nothing itself: the classroom's student processes import only what they use."""
