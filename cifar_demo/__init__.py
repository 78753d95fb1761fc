"""cifar-demo: the PyTorch CIFAR-10 tutorial as a fast, robust classroom lab (core engine, no gradio)."""
__version__ = "0.1.0"
