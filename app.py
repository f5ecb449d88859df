"""Open the chat UI on the bundled article: `python app.py` (or `make run`).

Serves http://127.0.0.1:7860, or the port in GRADIO_SERVER_PORT; the same as `hkai-qa serve`.
"""

import sys

from hkai_qa.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
