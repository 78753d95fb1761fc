"""The page's parts in Gradio, a module per part that outgrew app.py. The core (every other module of cifar_demo)
never imports gradio or this package: the command line and the tests use it without a web server."""
