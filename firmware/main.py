"""Board entry point. The launcher (firmware/launcher/main.py) imports this module from the
active slot and calls ``main()``; on the virtual board it runs directly."""


def main():
    import app

    app.run()


if __name__ == "__main__":
    main()
