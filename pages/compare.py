from webapp import compare

compare.run()
