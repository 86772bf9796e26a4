"""What each pipeline action does, written against stepline.ports only."""
