"""The tax term dictionary: one jieba user-dictionary file, loaded by search and by Rasa's JiebaTokenizer.

Rasa's JiebaTokenizer loads *every* file in its ``dictionary_path`` folder, so the folder
``knowledge_base/dictionary/jieba/`` holds exactly one file: ``tax_terms.txt``.
"""

from pathlib import Path

DICTIONARY_DIR = Path(__file__).resolve().parent / "jieba"
DICTIONARY_FILE = DICTIONARY_DIR / "tax_terms.txt"
