from webapp import classify

classify.run()
