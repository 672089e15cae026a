"""Local development stack: what API Gateway and AWS do around the functions, emulated on loopback."""
