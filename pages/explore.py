from webapp import explore

explore.run()
