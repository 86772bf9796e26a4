import unittest

from sample_app import add


class AddTest(unittest.TestCase):
    def test_adds_its_arguments(self) -> None:
        self.assertEqual(add(2, 3), 5)

    def test_nothing_adds_up_to_zero(self) -> None:
        self.assertEqual(add(), 0)


if __name__ == "__main__":
    unittest.main()
