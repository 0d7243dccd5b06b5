"""Public notices (公示) and the working-day calendar they run on."""
