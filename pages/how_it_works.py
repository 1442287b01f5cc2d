from webapp import how_it_works

how_it_works.run()
