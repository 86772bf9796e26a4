import sys

from sample_app import add


def main(arguments: list[str]) -> int:
    try:
        numbers = [float(argument) for argument in arguments]
    except ValueError as error:
        print(f"sample_app: not a number: {error}", file=sys.stderr)
        return 2
    total = add(*numbers)
    print(int(total) if total.is_integer() else total)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
